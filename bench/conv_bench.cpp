// Convolutions of ember's two workloads, forward and forward + backward (input and weight
// gradients), beside PyTorch's time for the same shape in the same run (python3-torch, when
// installed) and the FMA peak of this machine measured by the same program:
//   the Fashion-MNIST CNN's two layers (batch 64, 3x3, no padding);
//   the well-log U-Net's 3x3 convolutions (padding 1): 16->16 and 32->32 at 64 x 800, batch 1;
//   64->64 and 128->128 at 8 x 100, batch 16; and its 2x2 stride-2 up-convolution.
//
//   ./build/bench/conv_bench [--threads N] [--repeats N]
#include <omp.h>

#include <cstdio>
#include <string>
#include <vector>

#include "bench/cpu_bench_options.h"
#include "bench/hardware_limits.h"
#include "bench/python_peer.h"
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

int run(const bench::CpuBenchOptions& options) {
  const int threads = options.threads, repeats = options.repeats;
  const double peak = bench::cpu_fma_gflops();
  std::vector<double> forward_ms, train_ms;
  std::vector<std::string> peer_arguments = options.peer_arguments("conv");
  for (const ConvCase& s : kCases) {
    Generator generator(1);
    const Tensor x = randn({s.n, s.c, s.h, s.w}, {}, generator);
    const Tensor weight = s.transposed ? randn({s.c, s.oc, s.k, s.k}, {}, generator)
                                       : randn({s.oc, s.c, s.k, s.k}, {}, generator);
    {
      NoGradGuard no_grad;
      forward_ms.push_back(1e3 * bench::median_seconds(Device::cpu(), [&] { (void)run(s, x, weight); }, repeats));
    }
    const Tensor xg = x.detach().set_requires_grad(true), wg = weight.detach().set_requires_grad(true);
    const Tensor grad = randn({s.n, s.oc, s.out_h(), s.out_w()}, {}, generator);
    train_ms.push_back(1e3 * bench::median_seconds(Device::cpu(), [&] {
      xg.reset_grad();
      wg.reset_grad();
      run(s, xg, wg).backward(grad);
    }, repeats));
    peer_arguments.push_back(s.peer_argument());
  }
  const std::map<std::string, double> peer = bench::run_python_peer("torch_cpu_kernels.py", peer_arguments);

  std::printf("conv2d f32 on %d threads; FMA peak of this machine, measured now: %.0f GFLOP/s; median of %d calls\n",
              threads, peak, repeats);
  if (peer.empty()) std::printf("PyTorch: peer not installed (apt-get install python3-torch)\n");
  std::printf("\n| shape | pass | ember ms | ember GFLOP/s | %% of peak | PyTorch ms | ember speed / PyTorch |\n");
  std::printf("|---|---|---|---|---|---|---|\n");
  for (std::size_t i = 0; i < std::size(kCases); ++i) {
    const ConvCase& s = kCases[i];
    for (const bool train : {false, true}) {
      const double ms = train ? train_ms[i] : forward_ms[i];
      const double gflops = (train ? 3 : 1) * s.forward_flops() / ms / 1e6;
      const auto found = peer.find("conv" + std::to_string(i) + (train ? "_train" : "_forward"));
      std::printf("| %s | %s | %.3f | %.0f | %.0f%% |", s.name, train ? "forward + backward" : "forward", ms, gflops,
                  100 * gflops / peak);
      if (found != peer.end()) {
        std::printf(" %.3f | %.2fx |\n", found->second, found->second / ms);
      } else {
        std::printf(" - | - |\n");
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
