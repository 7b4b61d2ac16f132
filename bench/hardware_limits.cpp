#include "bench/hardware_limits.h"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

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

double cpu_copy_gbps() {
  const std::int64_t n = std::int64_t{1} << 26;
  std::vector<float> source(static_cast<std::size_t>(n), 1.0f), target(static_cast<std::size_t>(n), 0.0f);
  const float* a = source.data();
  float* b = target.data();
  const double seconds = median_seconds(Device::cpu(), [&] {
#pragma omp parallel for schedule(static)
    for (std::int64_t i = 0; i < n; ++i) b[i] = a[i];
  });
  return 2.0 * static_cast<double>(n) * sizeof(float) / seconds / 1e9;
}

double cpu_fma_gflops() {
  // CMakeLists.txt compiles this file with -ffp-contract=fast, so a * s + t is one instruction.
  using Vector = float __attribute__((vector_size(64)));
  constexpr int kChains = 16, kSteps = 1 << 22;
  constexpr int kLanes = sizeof(Vector) / sizeof(float);
  float sink = 0;
  const double seconds = median_seconds(Device::cpu(), [&] {
#pragma omp parallel reduction(+ : sink)
    {
      Vector acc[kChains];
      for (int a = 0; a < kChains; ++a) acc[a] = Vector{} + 1.0f + static_cast<float>(a);
      const Vector scale = Vector{} + 0.999999f, shift = Vector{} + 1e-7f;
      for (int step = 0; step < kSteps; ++step) {
        for (int a = 0; a < kChains; ++a) acc[a] = acc[a] * scale + shift;
      }
      for (int a = 0; a < kChains; ++a) sink += acc[a][0];
    }
  });
  if (sink == 12345.0f) std::printf(" ");  // the result is used: the loop cannot be dropped
  return 2.0 * kLanes * kChains * static_cast<double>(kSteps) * omp_get_max_threads() / seconds / 1e9;
}

__attribute__((target("avx512f,avx512bf16"))) double bf16_dot_seconds(float& sink) {
  constexpr int kChains = 16, kSteps = 1 << 22;
  return median_seconds(Device::cpu(), [&] {
#pragma omp parallel reduction(+ : sink)
    {
      __m512 acc[kChains];
      for (int a = 0; a < kChains; ++a) acc[a] = _mm512_set1_ps(static_cast<float>(a));
      const __m512bh x = (__m512bh)_mm512_set1_epi32(0x3f803f80), y = (__m512bh)_mm512_set1_epi32(0x3f003f00);
      for (int step = 0; step < kSteps; ++step) {
        for (int a = 0; a < kChains; ++a) acc[a] = _mm512_dpbf16_ps(acc[a], x, y);
      }
      float lanes[16];
      for (int a = 0; a < kChains; ++a) {
        _mm512_storeu_ps(lanes, acc[a]);
        sink += lanes[0];
      }
    }
  });
}

double cpu_bf16_dot_gflops() {
  if (!__builtin_cpu_supports("avx512bf16")) return 0;
  float sink = 0;
  const double seconds = bf16_dot_seconds(sink);
  if (sink == 12345.0f) std::printf(" ");
  // 16 lanes x 2 products x 2 FLOPs per instruction.
  return 64.0 * 16 * static_cast<double>(1 << 22) * omp_get_max_threads() / seconds / 1e9;
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
