#include "bench/hardware_limits.h"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <vector>

#include "kernels/cpu/isa.h"

namespace ember::bench {

double median_seconds(Device device, const std::function<void()>& f, int calls) {
  auto wait = [&] {
    if (device.is_cuda()) cuda::synchronize();
  };
  f();
  wait();
  std::vector<double> times;
  for (int i = 0; i < calls; ++i) {
    const auto start = std::chrono::steady_clock::now();
    f();
    wait();
    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

double cpu_copy_gbps(std::int64_t bytes) {
  const std::int64_t n = std::max<std::int64_t>(bytes / 2 / static_cast<std::int64_t>(sizeof(float)), 1);
  std::vector<float> source(static_cast<std::size_t>(n), 1.0f), target(static_cast<std::size_t>(n), 0.0f);
  const float* a = source.data();
  float* b = target.data();
  const double seconds = median_seconds(Device::cpu(), [&] {
#pragma omp parallel for schedule(static)
    for (std::int64_t i = 0; i < n; ++i) b[i] = a[i];
  });
  return 2.0 * static_cast<double>(n) * sizeof(float) / seconds / 1e9;
}

namespace {

// Each limit is timed as kChains independent chains of kSteps multiply-adds on every thread. The
// chains are plain functions compiled for one instruction set each (a lambda or an OpenMP region
// would not inherit a target attribute); CMakeLists.txt compiles this file with
// -ffp-contract=fast, so a * s + t is one instruction.
constexpr int kChains = 16, kSteps = 1 << 22;

template <int Lanes>
[[gnu::always_inline]] inline float fma_chains() {
  using Vector [[gnu::vector_size(Lanes * sizeof(float))]] = float;
  Vector acc[kChains];
  for (int a = 0; a < kChains; ++a) acc[a] = Vector{} + 1.0f + static_cast<float>(a);
  const Vector scale = Vector{} + 0.999999f, shift = Vector{} + 1e-7f;
  for (int step = 0; step < kSteps; ++step) {
    for (int a = 0; a < kChains; ++a) acc[a] = acc[a] * scale + shift;
  }
  float sum = 0;
  for (int a = 0; a < kChains; ++a) {
    float first;  // lane 0 (GCC 12 does not subscript a vector whose size depends on a template)
    std::memcpy(&first, &acc[a], sizeof(first));
    sum += first;
  }
  return sum;
}

__attribute__((target("avx512f"))) float fma_chains_avx512() { return fma_chains<16>(); }
__attribute__((target("avx2,fma"))) float fma_chains_avx2() { return fma_chains<8>(); }
float fma_chains_sse() { return fma_chains<4>(); }

__attribute__((target("avx512f,avx512bf16"))) float bf16_dot_chains() {
  __m512 acc[kChains];
  for (int a = 0; a < kChains; ++a) acc[a] = _mm512_set1_ps(static_cast<float>(a));
  const __m512bh x = (__m512bh)_mm512_set1_epi32(0x3f803f80), y = (__m512bh)_mm512_set1_epi32(0x3f003f00);
  for (int step = 0; step < kSteps; ++step) {
    for (int a = 0; a < kChains; ++a) acc[a] = _mm512_dpbf16_ps(acc[a], x, y);
  }
  float lanes[16], sum = 0;
  for (int a = 0; a < kChains; ++a) {
    _mm512_storeu_ps(lanes, acc[a]);
    sum += lanes[0];
  }
  return sum;
}

// GFLOP/s of `chains` run on every thread, each chain step `flops` floating-point operations.
double chains_gflops(float (*chains)(), double flops_per_step) {
  float sink = 0;
  const double seconds = median_seconds(Device::cpu(), [&] {
#pragma omp parallel reduction(+ : sink)
    sink += chains();
  });
  if (sink == 12345.0f) std::printf(" ");  // the result is used: the loops cannot be dropped
  return flops_per_step * kChains * static_cast<double>(kSteps) * omp_get_max_threads() / seconds / 1e9;
}

}  // namespace

double cpu_fma_gflops() {
  // The machine's limit, whatever the build's -march: the widest FMA instructions the CPU has.
  using kernels::cpu::Isa;
  const Isa isa = kernels::cpu::cpu_isa_supported();
  if (isa >= Isa::avx512) return chains_gflops(fma_chains_avx512, 2.0 * 16);
  if (isa == Isa::avx2) return chains_gflops(fma_chains_avx2, 2.0 * 8);
  return chains_gflops(fma_chains_sse, 2.0 * 4);  // SSE has no FMA: a multiply and an add
}

double cpu_bf16_dot_gflops() {
  if (kernels::cpu::cpu_isa_supported() < kernels::cpu::Isa::avx512_bf16) return 0;
  return chains_gflops(bf16_dot_chains, 2.0 * 2 * 16);  // 16 lanes x 2 products x 2 FLOPs
}

double cuda_copy_gbps() {
  const Tensor source = zeros({std::int64_t{1} << 28}, {.device = Device::cuda()});
  const Tensor target = empty_like(source);
  const double seconds = median_seconds(Device::cuda(), [&] { copy_(target, source); });
  return 2.0 * static_cast<double>(source.numel()) * sizeof(float) / seconds / 1e9;
}

double cuda_gemm_gflops(DType dtype) {
  const Tensor a = randn({8192, 8192}, {.dtype = dtype, .device = Device::cuda()});
  const double seconds = median_seconds(Device::cuda(), [&] { (void)matmul(a, a); });
  return 2.0 * 8192.0 * 8192.0 * 8192.0 / seconds / 1e9;
}

}  // namespace ember::bench
