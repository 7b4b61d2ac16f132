#include "bench/hardware_limits.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "kernels/cpu/isa.h"
#include "kernels/cpu/peak_loops.h"

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

constexpr std::int64_t kSteps = std::int64_t{1} << 22;

// GFLOP/s of `loop` run for kSteps steps on every thread.
double all_threads_gflops(const kernels::cpu::PeakLoop& loop) {
  float sink = 0;
  const double seconds = median_seconds(Device::cpu(), [&] {
#pragma omp parallel reduction(+ : sink)
    sink += loop.run(kSteps);
  });
  if (sink == 12345.0f) std::printf(" ");  // the result is used: the loops cannot be dropped
  return loop.flops_per_step * static_cast<double>(kSteps) * omp_get_max_threads() / seconds / 1e9;
}

}  // namespace

double cpu_fma_gflops() {
  // The machine's limit, whatever the build's -march: the widest FMA instructions the CPU has.
  return all_threads_gflops(kernels::cpu::f32_fma_loop(kernels::cpu::cpu_isa_supported()));
}

double cpu_bf16_dot_gflops() {
  if (kernels::cpu::cpu_isa_supported() < kernels::cpu::Isa::avx512_bf16) return 0;
  return all_threads_gflops(kernels::cpu::bf16_dot_loop());
}

double cpu_bf16_product_gflops() {
  return kernels::cpu::cpu_isa() >= kernels::cpu::Isa::avx512_bf16 ? cpu_bf16_dot_gflops() : cpu_fma_gflops();
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
