// ember's CPU matrix products and two bandwidth kernels beside PyTorch's (python3-torch, when
// installed) and this machine's limits, all measured by the same run: the FMA peak (f32), the
// AVX512-BF16 dot-product peak (bf16) and the copy bandwidth. The products: square 1024^3 and
// 2048^3 in f32 and bf16 (bf16 operands, f32 sums, as autocast multiplies), and the
// Fashion-MNIST models' linear layers at batch 64 with their two backward products.
//
//   ./build/bench/kernels_bench [--threads N] [--repeats N]
#include <cstdio>
#include <string>
#include <tuple>
#include <vector>

#include "bench/cpu_bench_options.h"
#include "bench/hardware_limits.h"
#include "bench/python_peer.h"
#include "core/ember.h"
#include "kernels/cpu/isa.h"

using namespace ember;

namespace {

struct Product {
  const char* name;
  std::int64_t m, n, k;
  DType dtype;
  std::string peer_argument() const {
    return std::to_string(m) + "," + std::to_string(n) + "," + std::to_string(k) + "," +
           (dtype == DType::bf16 ? "bf16" : "f32");
  }
};

const Product kProducts[] = {
    {"square 1024", 1024, 1024, 1024, DType::f32},
    {"square 1024", 1024, 1024, 1024, DType::bf16},
    {"square 2048", 2048, 2048, 2048, DType::f32},
    {"square 2048", 2048, 2048, 2048, DType::bf16},
    {"MLP linear 784->256, batch 64", 64, 256, 784, DType::f32},
    {"CNN linear 1600->128, batch 64", 64, 128, 1600, DType::f32},
    {"  its weight gradient (1600 x 64) @ (64 x 128)", 1600, 128, 64, DType::f32},
    {"  its input gradient (64 x 128) @ (128 x 1600)", 64, 1600, 128, DType::f32},
    {"CNN linear 128->10, batch 64", 64, 10, 128, DType::f32},
};

constexpr std::int64_t kElements = std::int64_t{16} << 20;

int run(const bench::CpuBenchOptions& options) {
  const int threads = options.threads, repeats = options.repeats;
  const double fma_peak = bench::cpu_fma_gflops(), bf16_peak = bench::cpu_bf16_dot_gflops();
  const double copy_gbps = bench::cpu_copy_gbps();
  std::vector<double> product_ms;
  std::vector<std::string> peer_arguments = options.peer_arguments("matmul");
  for (const Product& p : kProducts) {
    Generator generator(1);
    const Tensor a = randn({p.m, p.k}, {}, generator).to(p.dtype), b = randn({p.k, p.n}, {}, generator).to(p.dtype);
    product_ms.push_back(1e3 * bench::median_seconds(Device::cpu(), [&] { (void)matmul(a, b); }, repeats));
    peer_arguments.push_back(p.peer_argument());
  }
  const Tensor x = randn({kElements}), y = randn({kElements});
  const double add_ms = 1e3 * bench::median_seconds(Device::cpu(), [&] { (void)add(x, y); }, repeats);
  const double relu_ms = 1e3 * bench::median_seconds(Device::cpu(), [&] { (void)relu(x); }, repeats);
  const std::map<std::string, double> peer = bench::run_python_peer("torch_cpu_kernels.py", peer_arguments);
  std::vector<std::string> elementwise_arguments = options.peer_arguments("elementwise");
  elementwise_arguments.push_back(std::to_string(kElements));
  const std::map<std::string, double> peer_elementwise =
      bench::run_python_peer("torch_cpu_kernels.py", elementwise_arguments);

  std::printf("CPU kernels on %d threads, variant %s; limits measured now: f32 FMA %.0f GFLOP/s, bf16 dot %.0f "
              "GFLOP/s, copy %.1f GB/s; median of %d calls\n",
              threads, kernels::cpu::isa_name(kernels::cpu::cpu_isa()), fma_peak, bf16_peak, copy_gbps, repeats);
  if (peer.empty()) std::printf("PyTorch: peer not installed (apt-get install python3-torch)\n");
  std::printf("\n| product | dtype | ember ms | ember GFLOP/s | %% of limit | PyTorch GFLOP/s | ember speed / PyTorch |\n");
  std::printf("|---|---|---|---|---|---|---|\n");
  for (std::size_t i = 0; i < std::size(kProducts); ++i) {
    const Product& p = kProducts[i];
    const double flops = 2.0 * static_cast<double>(p.m * p.n * p.k);
    const double gflops = flops / product_ms[i] / 1e6;
    const double limit = p.dtype == DType::bf16 ? bf16_peak : fma_peak;
    std::printf("| %s (%lld x %lld x %lld) | %s | %.3f | %.0f | %.0f%% |", p.name, static_cast<long long>(p.m),
                static_cast<long long>(p.n), static_cast<long long>(p.k), p.dtype == DType::bf16 ? "bf16" : "f32",
                product_ms[i], gflops, limit > 0 ? 100 * gflops / limit : 0.0);
    const auto found = peer.find("matmul" + std::to_string(i));
    if (found != peer.end()) {
      std::printf(" %.0f | %.2fx |\n", flops / found->second / 1e6, found->second / product_ms[i]);
    } else {
      std::printf(" - | - |\n");
    }
  }
  std::printf("\n| kernel (16M f32) | ember GB/s | %% of copy | PyTorch GB/s | ember speed / PyTorch |\n|---|---|---|---|---|\n");
  for (const auto& [name, ms, bytes] : {std::tuple{"add", add_ms, 12.0}, std::tuple{"relu", relu_ms, 8.0}}) {
    const double gbps = bytes * static_cast<double>(kElements) / ms / 1e6;
    std::printf("| %s | %.1f | %.0f%% |", name, gbps, 100 * gbps / copy_gbps);
    const auto found = peer_elementwise.find(name);
    if (found != peer_elementwise.end()) {
      std::printf(" %.1f | %.2fx |\n", bytes * static_cast<double>(kElements) / found->second / 1e6, found->second / ms);
    } else {
      std::printf(" - | - |\n");
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const bench::CpuBenchOptions options =
      bench::parse_cpu_bench_options(argc, argv, "kernels_bench", "ember's CPU GEMM and bandwidth kernels vs PyTorch and the machine's limits");
  try {
    return run(options);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "kernels_bench: %s\n", error.what());
    return 1;
  }
}
