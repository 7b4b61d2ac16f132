// ember's CPU matrix products and two bandwidth kernels beside PyTorch's (python3-torch, when
// installed) and this machine's limits, all measured by the same run: the FMA peak (f32), the
// AVX512-BF16 dot-product peak (bf16) and the copy bandwidth. The products: square 1024^3 and
// 2048^3 in f32 and bf16 (bf16 operands, f32 sums, as autocast multiplies), and the
// Fashion-MNIST models' linear layers at batch 64 with their two backward products.
//
//   ./build/bench/kernels_bench [--threads N] [--repeats N] [--rounds N]
#include <cmath>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "bench/cpu_bench_options.h"
#include "bench/hardware_limits.h"
#include "bench/python_peer.h"
#include "bench/rounds.h"
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

// ember's rows and the limits of one round; the peer's rows are added by the caller.
bench::Round measure_ember(int repeats) {
  bench::Round round;
  round.limits["fma"] = bench::cpu_fma_gflops();
  round.limits["bf16"] = bench::cpu_bf16_product_gflops();
  round.limits["copy"] = bench::cpu_copy_gbps();
  for (std::size_t i = 0; i < std::size(kProducts); ++i) {
    const Product& p = kProducts[i];
    Generator generator(1);
    const Tensor a = randn({p.m, p.k}, {}, generator).to(p.dtype), b = randn({p.k, p.n}, {}, generator).to(p.dtype);
    round.ember_ms["matmul" + std::to_string(i)] =
        1e3 * bench::median_seconds(Device::cpu(), [&] { (void)matmul(a, b); }, repeats);
  }
  const Tensor x = randn({kElements}), y = randn({kElements});
  round.ember_ms["add"] = 1e3 * bench::median_seconds(Device::cpu(), [&] { (void)add(x, y); }, repeats);
  round.ember_ms["relu"] = 1e3 * bench::median_seconds(Device::cpu(), [&] { (void)relu(x); }, repeats);
  return round;
}

// " PyTorch figure | ratio of bests | median ratio |", or dashes without the peer; `figure` turns
// the peer's best ms into what the table shows.
template <class Figure>
void print_peer_columns(const bench::Rounds& rounds, const std::string& key, double ember_ms, const Figure& figure) {
  const double peer_ms = rounds.best_peer_ms(key);
  if (std::isnan(peer_ms)) {
    std::printf(" - | - | - |\n");
  } else {
    std::printf(" %.1f | %.2fx | %.2fx |\n", figure(peer_ms), peer_ms / ember_ms, rounds.median_speed_ratio(key));
  }
}

int run(const bench::CpuBenchOptions& options) {
  std::vector<std::string> product_arguments = options.peer_arguments("matmul");
  for (const Product& p : kProducts) product_arguments.push_back(p.peer_argument());
  std::vector<std::string> elementwise_arguments = options.peer_arguments("elementwise");
  elementwise_arguments.push_back(std::to_string(kElements));
  bench::Rounds rounds;
  for (int r = 0; r < options.rounds; ++r) {
    bench::Round round = measure_ember(options.repeats);
    round.peer_ms = bench::run_python_peer("torch_cpu_kernels.py", product_arguments);
    round.peer_ms.merge(bench::run_python_peer("torch_cpu_kernels.py", elementwise_arguments));
    rounds.add(std::move(round));
  }
  const double fma_peak = rounds.best_limit("fma"), bf16_peak = rounds.best_limit("bf16");
  const double copy_gbps = rounds.best_limit("copy");

  std::printf("CPU kernels on %d threads, variant %s (bf16 dot products measured at %.2fx the f32 FMA rate); %d rounds "
              "of (limits, ember, PyTorch), each figure the median of %d calls; limits (highest of the rounds): f32 FMA "
              "%.0f GFLOP/s (lowest %.0f), bf16 products %.0f GFLOP/s, copy %.1f GB/s; ember and PyTorch: the best "
              "round; speed ratios: of the best rounds, and the median of the per-round ratios\n",
              options.threads, kernels::cpu::isa_name(kernels::cpu::cpu_isa()), kernels::cpu::bf16_dot_rate_over_fma(),
              rounds.size(), options.repeats, fma_peak, rounds.lowest_limit("fma"), bf16_peak, copy_gbps);
  if (std::isnan(rounds.best_peer_ms("matmul0"))) {
    std::printf("PyTorch: peer not installed (apt-get install python3-torch)\n");
  }
  std::printf("\n| product | dtype | ember ms | ember GFLOP/s | %% of limit | PyTorch GFLOP/s | ember speed / PyTorch "
              "(best) | (median of rounds) |\n");
  std::printf("|---|---|---|---|---|---|---|---|\n");
  for (std::size_t i = 0; i < std::size(kProducts); ++i) {
    const Product& p = kProducts[i];
    const std::string key = "matmul" + std::to_string(i);
    const double flops = 2.0 * static_cast<double>(p.m * p.n * p.k), ms = rounds.best_ember_ms(key);
    const double gflops = flops / ms / 1e6;
    const double limit = p.dtype == DType::bf16 ? bf16_peak : fma_peak;
    std::printf("| %s (%lld x %lld x %lld) | %s | %.3f | %.0f | %.0f%% |", p.name, static_cast<long long>(p.m),
                static_cast<long long>(p.n), static_cast<long long>(p.k), p.dtype == DType::bf16 ? "bf16" : "f32",
                ms, gflops, limit > 0 ? 100 * gflops / limit : 0.0);
    print_peer_columns(rounds, key, ms, [&](double peer_ms) { return flops / peer_ms / 1e6; });
  }
  std::printf("\n| kernel (16M f32) | ember GB/s | %% of copy | PyTorch GB/s | ember speed / PyTorch (best) |"
              " (median of rounds) |\n|---|---|---|---|---|---|\n");
  for (const auto& [name, bytes_per_element] : {std::pair{"add", 12.0}, std::pair{"relu", 8.0}}) {
    const double bytes = bytes_per_element * static_cast<double>(kElements), ms = rounds.best_ember_ms(name);
    std::printf("| %s | %.1f | %.0f%% |", name, bytes / ms / 1e6, 100 * bytes / ms / 1e6 / copy_gbps);
    print_peer_columns(rounds, name, ms, [&](double peer_ms) { return bytes / peer_ms / 1e6; });
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
