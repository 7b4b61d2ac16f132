// --perf: each op of the table at a size worth timing, forward only, in GB/s of memory traffic
// (bandwidth-bound ops) or GFLOP/s (products), beside the limits of the device measured in the
// same run (bench/hardware_limits.h).
#include "op_table/op_perf.h"

#include <cstdio>
#include <vector>

#include "bench/hardware_limits.h"
#include "core/autograd/grad_mode.h"
#include "op_table/op_table.h"

namespace ember::op_table {

namespace {

double bytes_of(const Tensor& t) { return static_cast<double>(t.numel()) * static_cast<double>(size_of(t.dtype())); }

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
      seconds = bench::median_seconds(device, [&] { output = c.run(args); });
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
  const double cpu_copy = bench::cpu_copy_gbps();
  time_cases(Device::cpu(), DType::f32, {cpu_copy, bench::cpu_fma_gflops()});
  time_cases(Device::cpu(), DType::bf16, {cpu_copy, bench::cpu_bf16_product_gflops()});
  if (cuda::is_available()) {
    const double copy = bench::cuda_copy_gbps();
    for (const DType dtype : {DType::f32, DType::bf16}) time_cases(Device::cuda(), dtype, {copy, bench::cuda_gemm_gflops(dtype)});
  } else {
    std::printf("\ncuda: no CUDA device, not timed\n");
  }
  return 0;
}

}  // namespace ember::op_table
