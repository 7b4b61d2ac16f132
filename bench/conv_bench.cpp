// Convolutions of ember's two workloads, forward and forward + backward (input and weight
// gradients), beside PyTorch's time for the same shape in the same run (python3-torch, when
// installed) and the FMA peak of this machine measured by the same program:
//   the Fashion-MNIST CNN's two layers (batch 64, 3x3, no padding);
//   the well-log U-Net's 3x3 convolutions (padding 1): 16->16 and 32->32 at 64 x 800, batch 1;
//   64->64 and 128->128 at 8 x 100, batch 16; and its 2x2 stride-2 up-convolution.
//
//   ./build/bench/conv_bench [--threads N] [--repeats N] [--rounds N]
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "bench/cpu_bench_options.h"
#include "bench/hardware_limits.h"
#include "bench/python_peer.h"
#include "bench/rounds.h"
#include "core/ember.h"

using namespace ember;

namespace {

struct ConvCase {
  const char* name;
  std::int64_t n, c, h, w, oc, k, stride, padding;
  bool transposed;

  std::int64_t out_h() const { return transposed ? (h - 1) * stride - 2 * padding + k : (h + 2 * padding - k) / stride + 1; }
  std::int64_t out_w() const { return transposed ? (w - 1) * stride - 2 * padding + k : (w + 2 * padding - k) / stride + 1; }
  // Multiply-adds x 2 of the forward pass; backward is two products of the same size.
  double forward_flops() const {
    const std::int64_t positions = transposed ? h * w : out_h() * out_w();
    return 2.0 * static_cast<double>(n * oc * c * k * k * positions);
  }
  // Bytes a pass must move at least: forward reads the input and the weight and writes the output;
  // backward also reads the output's gradient, the input and the weight and writes their gradients.
  std::int64_t bytes(bool train) const {
    const std::int64_t input = n * c * h * w, weight = oc * c * k * k, output = n * oc * out_h() * out_w();
    const std::int64_t elements = train ? 3 * input + 3 * weight + 2 * output : input + weight + output;
    return elements * static_cast<std::int64_t>(sizeof(float));
  }
  std::string peer_argument() const {
    return std::to_string(n) + "," + std::to_string(c) + "," + std::to_string(h) + "," + std::to_string(w) + "," +
           std::to_string(oc) + "," + std::to_string(k) + "," + std::to_string(stride) + "," + std::to_string(padding) +
           "," + (transposed ? "1" : "0");
  }
};

const ConvCase kCases[] = {
    {"CNN layer 1 (1->32, 28x28, batch 64)", 64, 1, 28, 28, 32, 3, 1, 0, false},
    {"CNN layer 2 (32->64, 13x13, batch 64)", 64, 32, 13, 13, 64, 3, 1, 0, false},
    {"U-Net 16->16, 64x800, batch 1", 1, 16, 64, 800, 16, 3, 1, 1, false},
    {"U-Net 32->32, 64x800, batch 1", 1, 32, 64, 800, 32, 3, 1, 1, false},
    {"U-Net 64->64, 8x100, batch 16", 16, 64, 8, 100, 64, 3, 1, 1, false},
    {"U-Net 128->128, 8x100, batch 16", 16, 128, 8, 100, 128, 3, 1, 1, false},
    {"U-Net up 32->16, 2x2 stride 2, 32x400 -> 64x800", 1, 32, 32, 400, 16, 2, 2, 0, true},
};

Tensor run(const ConvCase& s, const Tensor& x, const Tensor& weight) {
  if (s.transposed) return conv_transpose2d(x, weight, {}, {.stride = {s.stride, s.stride}, .padding = {s.padding, s.padding}});
  return conv2d(x, weight, {}, {.stride = {s.stride, s.stride}, .padding = {s.padding, s.padding}});
}

std::string row_key(std::size_t i, bool train) { return "conv" + std::to_string(i) + (train ? "_train" : "_forward"); }

// ember's rows and the limits of one round; the peer's rows are added by the caller.
bench::Round measure_ember(int repeats) {
  bench::Round round;
  round.limits["fma"] = bench::cpu_fma_gflops();
  for (std::size_t i = 0; i < std::size(kCases); ++i) {
    const ConvCase& s = kCases[i];
    Generator generator(1);
    const Tensor x = randn({s.n, s.c, s.h, s.w}, {}, generator);
    const Tensor weight = s.transposed ? randn({s.c, s.oc, s.k, s.k}, {}, generator)
                                       : randn({s.oc, s.c, s.k, s.k}, {}, generator);
    {
      NoGradGuard no_grad;
      round.ember_ms[row_key(i, false)] =
          1e3 * bench::median_seconds(Device::cpu(), [&] { (void)run(s, x, weight); }, repeats);
    }
    const Tensor xg = x.detach().set_requires_grad(true), wg = weight.detach().set_requires_grad(true);
    const Tensor grad = randn({s.n, s.oc, s.out_h(), s.out_w()}, {}, generator);
    round.ember_ms[row_key(i, true)] = 1e3 * bench::median_seconds(Device::cpu(), [&] {
      xg.reset_grad();
      wg.reset_grad();
      run(s, xg, wg).backward(grad);
    }, repeats);
    for (const bool train : {false, true}) {
      round.limits["copy_" + row_key(i, train)] = bench::cpu_copy_gbps(s.bytes(train));
    }
  }
  return round;
}

int run(const bench::CpuBenchOptions& options) {
  std::vector<std::string> peer_arguments = options.peer_arguments("conv");
  for (const ConvCase& s : kCases) peer_arguments.push_back(s.peer_argument());
  bench::Rounds rounds;
  for (int r = 0; r < options.rounds; ++r) {
    bench::Round round = measure_ember(options.repeats);
    round.peer_ms = bench::run_python_peer("torch_cpu_kernels.py", peer_arguments);
    rounds.add(std::move(round));
  }
  const double peak = rounds.best_limit("fma");

  std::printf("conv2d f32 on %d threads; %d rounds of (FMA peak, ember, PyTorch), each figure the median of %d calls;\n"
              "FMA peak measured in the rounds: %.0f-%.0f GFLOP/s (%% of peak: of the highest)\n",
              options.threads, rounds.size(), options.repeats, rounds.lowest_limit("fma"), peak);
  if (std::isnan(rounds.best_peer_ms(row_key(0, false)))) {
    std::printf("PyTorch: peer not installed (apt-get install python3-torch)\n");
  }
  std::printf("Limit: the longer of the FMA time at the peak and a copy of the row's bytes (inputs read, outputs\n"
              "written once) at the copy speed measured for that many bytes; ember and PyTorch: the best round;\n"
              "speed ratios: of the best rounds, and the median of the per-round ratios\n");
  std::printf("\n| shape | pass | ember ms | GFLOP/s | %% of peak | limit ms (bound) | %% of limit | PyTorch ms |"
              " ember speed / PyTorch (best) | (median of rounds) |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|\n");
  for (std::size_t i = 0; i < std::size(kCases); ++i) {
    const ConvCase& s = kCases[i];
    for (const bool train : {false, true}) {
      const std::string key = row_key(i, train);
      const double ms = rounds.best_ember_ms(key), flops = (train ? 3 : 1) * s.forward_flops();
      const double gflops = flops / ms / 1e6;
      const double fma_ms = flops / peak / 1e6;
      const double copy_ms = static_cast<double>(s.bytes(train)) / rounds.best_limit("copy_" + key) / 1e6;
      const double limit_ms = std::max(fma_ms, copy_ms);
      std::printf("| %s | %s | %.3f | %.0f | %.0f%% | %.3f (%s) | %.0f%% |", s.name,
                  train ? "forward + backward" : "forward", ms, gflops, 100 * gflops / peak, limit_ms,
                  fma_ms >= copy_ms ? "FMA" : "memory", 100 * limit_ms / ms);
      const double peer_ms = rounds.best_peer_ms(key);
      if (std::isnan(peer_ms)) {
        std::printf(" - | - | - |\n");
      } else {
        std::printf(" %.3f | %.2fx | %.2fx |\n", peer_ms, peer_ms / ms, rounds.median_speed_ratio(key));
      }
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const bench::CpuBenchOptions options =
      bench::parse_cpu_bench_options(argc, argv, "conv_bench", "Convolutions of the CNN and the U-Net, ember vs PyTorch, beside the FMA peak");
  try {
    return run(options);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "conv_bench: %s\n", error.what());
    return 1;
  }
}
