// Random fills on the GPU from the same Philox stream as the CPU (kernels/random.h): element
// i depends only on (seed, offset, i), so a seed gives the same uniform values on both devices,
// bit for bit (the arithmetic is written so nvcc does not fuse it into an FMA the CPU lacks).
// Normal values go through the device's log and cos, which may differ from glibc's in the last
// bit or two.
#include "kernels/cuda/dispatch.cuh"
#include "kernels/cuda/map.cuh"
#include "kernels/random.h"
#include "kernels/philox.h"

namespace ember::kernels::cuda {

namespace {

// a + b * c rounded twice, like the CPU's unfused code (nvcc would otherwise emit an FMA).
__device__ inline float unfused(float a, float b, float c) { return __fadd_rn(a, __fmul_rn(b, c)); }
__device__ inline double unfused(double a, double b, double c) { return __dadd_rn(a, __dmul_rn(b, c)); }

template <class T, bool normal>
__global__ void random_kernel(std::int64_t n, T* out, std::uint64_t seed, std::uint64_t offset, compute_t<T> base,
                              compute_t<T> scale) {
  using C = compute_t<T>;
  for (std::int64_t i = blockIdx.x * static_cast<std::int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<std::int64_t>(gridDim.x) * blockDim.x) {
    const auto index = static_cast<std::uint64_t>(i);
    const float draw = normal ? philox_normal(seed, offset, index) : philox_uniform(seed, offset, index);
    out[i] = static_cast<T>(unfused(base, scale, static_cast<C>(draw)));
  }
}

template <class T, bool normal>
void launch_random(std::int64_t n, void* out, std::uint64_t seed, std::uint64_t offset, double base, double scale) {
  if (n == 0) return;
  using C = compute_t<T>;
  random_kernel<T, normal><<<grid_for(n), kBlockThreads, 0, current_stream()>>>(
      n, static_cast<T*>(out), seed, offset, static_cast<C>(base), static_cast<C>(scale));
  EMBER_CUDA_CHECK_LAUNCH();
}

}  // namespace

void fill_uniform(DType dtype, std::int64_t n, void* out, std::uint64_t seed, std::uint64_t offset, double low,
                  double high) {
  // low + (high - low) * u, with (high - low) computed in the compute type as on the CPU.
  dispatch_floating(dtype, "uniform", [&]<class T>() {
    using C = compute_t<T>;
    const double range = static_cast<double>(static_cast<C>(high - low));
    launch_random<T, false>(n, out, seed, offset, low, range);
  });
}

void fill_normal(DType dtype, std::int64_t n, void* out, std::uint64_t seed, std::uint64_t offset, double mean,
                 double std) {
  dispatch_floating(dtype, "normal", [&]<class T>() { launch_random<T, true>(n, out, seed, offset, mean, std); });
}

}  // namespace ember::kernels::cuda
