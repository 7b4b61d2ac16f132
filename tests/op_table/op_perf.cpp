// --perf: each op of the table at a size worth timing, forward only, in GB/s of memory traffic
// (bandwidth-bound ops) or GFLOP/s (products), beside the limit of the device measured in the
// same run: a plain parallel copy for bandwidth, a loop of independent fused multiply-adds (CPU)
// or the library GEMM at 8192^3 (GPU) for arithmetic.
#include "op_table/op_perf.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "core/autograd/grad_mode.h"
#include "op_table/op_table.h"

namespace ember::op_table {

namespace {

void wait_for(Device device) {
  if (device.is_cuda()) cuda::synchronize();
}

// Median seconds of one call of `f` (after one warm-up call), over 5 timed calls.
template <class F>
double median_seconds(Device device, F&& f) {
  f();
  wait_for(device);
  std::vector<double> times;
  for (int i = 0; i < 5; ++i) {
    const auto start = std::chrono::steady_clock::now();
    f();
    wait_for(device);
    times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

double bytes_of(const Tensor& t) { return static_cast<double>(t.numel()) * static_cast<double>(size_of(t.dtype())); }

// CPU copy bandwidth, as STREAM's copy measures it: a plain parallel loop b[i] = a[i] over 256 MiB
// of floats (read + write counted), the loop every elementwise kernel is at best.
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

// CPU f32 arithmetic peak: 16 independent vector accumulators per thread, 2 FLOPs per lane each
// step (a fused multiply-add once the compiler vectorizes it for this machine).
double cpu_fma_gflops() {
  using Vector = float __attribute__((vector_size(64)));
  constexpr int kAccumulators = 16, kSteps = 1 << 22;
  constexpr int kLanes = sizeof(Vector) / sizeof(float);
  float sink = 0;
  const double seconds = median_seconds(Device::cpu(), [&] {
#pragma omp parallel reduction(+ : sink)
    {
      Vector acc[kAccumulators];
      for (int a = 0; a < kAccumulators; ++a) acc[a] = Vector{} + 1.0f + static_cast<float>(a);
      const Vector scale = Vector{} + 0.999999f, shift = Vector{} + 1e-7f;
      for (int step = 0; step < kSteps; ++step) {
        for (int a = 0; a < kAccumulators; ++a) acc[a] = acc[a] * scale + shift;
      }
      for (int a = 0; a < kAccumulators; ++a) sink += acc[a][0];
    }
  });
  if (sink == 12345.0f) std::printf(" ");  // keeps the loop from being optimized away
  return 2.0 * kLanes * kAccumulators * static_cast<double>(kSteps) * omp_get_max_threads() / seconds / 1e9;
}

// GPU limits: device-to-device copy of 1 GiB, and ember's (cuBLASLt) GEMM at 8192^3 in `dtype`.
double cuda_copy_gbps() {
  const Tensor source = zeros({std::int64_t{1} << 28}, {.device = Device::cuda()});
  const Tensor target = empty_like(source);
  const double seconds = median_seconds(Device::cuda(), [&] { copy_(target, source); });
  return 2.0 * bytes_of(source) / seconds / 1e9;
}

double cuda_gemm_gflops(DType dtype) {
  const Tensor a = randn({8192, 8192}, {.dtype = dtype, .device = Device::cuda()});
  const double seconds = median_seconds(Device::cuda(), [&] { (void)matmul(a, a); });
  return 2.0 * 8192.0 * 8192.0 * 8192.0 / seconds / 1e9;
}

struct Limits {
  double gbps;
  double gflops;
};

void time_cases(Device device, DType dtype, const Limits& limits) {
  std::printf("\n%s, %s: copy %.0f GB/s, arithmetic %.0f GFLOP/s\n", device.str().c_str(), name(dtype),
              limits.gbps, limits.gflops);
  std::printf("%-26s %-30s %10s %12s %8s\n", "op", "input shapes", "ms", "rate", "% limit");
  for (const OpCase& c : op_cases()) {
    if (c.perf_inputs.empty() || (!c.half_precision && dtype != DType::f32 && dtype != DType::f64)) continue;
    std::vector<Input> inputs = c.perf_inputs;
    for (Input& input : inputs) input.requires_grad = false;
    const std::vector<Tensor> args = make_inputs(inputs, dtype, device, 7);
    NoGradGuard no_grad;
    Tensor output;
    double seconds = 0;
    try {
      seconds = median_seconds(device, [&] { output = c.run(args); });
    } catch (const std::exception& error) {
      std::printf("%-26s failed: %s\n", c.op.c_str(), error.what());
      continue;
    }
    std::string shapes;
    for (const Tensor& arg : args) {
      if (!shapes.empty()) shapes += ' ';
      shapes += to_string(arg.sizes());
    }
    if (c.flops) {
      const double gflops = c.flops(args) / seconds / 1e9;
      std::printf("%-26s %-30s %10.3f %7.0f GF/s %7.0f%%\n", c.op.c_str(), shapes.c_str(), seconds * 1e3, gflops,
                  100.0 * gflops / limits.gflops);
    } else {
      double bytes = bytes_of(output);
      for (const Tensor& arg : args) bytes += bytes_of(arg);
      const double gbps = bytes / seconds / 1e9;
      std::printf("%-26s %-30s %10.3f %7.0f GB/s %7.0f%%\n", c.op.c_str(), shapes.c_str(), seconds * 1e3, gbps,
                  100.0 * gbps / limits.gbps);
    }
  }
}

}  // namespace

int run_perf() {
  std::printf("op_table --perf: forward only, median of 5 calls; the rate is memory traffic (inputs read + output\n"
              "written) for bandwidth-bound ops and 2 FLOPs per multiply-add for products\n");
  time_cases(Device::cpu(), DType::f32, {cpu_copy_gbps(), cpu_fma_gflops()});
  if (cuda::is_available()) {
    const double copy = cuda_copy_gbps();
    for (const DType dtype : {DType::f32, DType::bf16}) time_cases(Device::cuda(), dtype, {copy, cuda_gemm_gflops(dtype)});
  } else {
    std::printf("\ncuda: no CUDA device, not timed\n");
  }
  return 0;
}

}  // namespace ember::op_table
