// Conv2d forward and backward for the reference CNN's two layers (batch 64), in GFLOP/s, beside
// Eigen's GEMM on the product each convolution reduces to ([OC, C*KH*KW] x [C*KH*KW, N*OH*OW]):
// the gap between the two is what im2col, col2im and the layout changes cost.
#include <benchmark/benchmark.h>

#include "core/ember.h"

using namespace ember;

namespace {

struct ConvShape {
  std::int64_t n, c, h, w, oc, k;
  std::int64_t out_h() const { return h - k + 1; }
  std::int64_t out_w() const { return w - k + 1; }
  double forward_flops() const { return 2.0 * static_cast<double>(oc * c * k * k * n * out_h() * out_w()); }
};

// conv(1->32, 3) on 28x28 and conv(32->64, 3) on 13x13, as in examples/fashion_mnist --model cnn.
const ConvShape kShapes[] = {{64, 1, 28, 28, 32, 3}, {64, 32, 13, 13, 64, 3}};

void rate(benchmark::State& state, double flops) {
  state.counters["GFLOP/s"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_conv2d_forward(benchmark::State& state) {
  const ConvShape s = kShapes[state.range(0)];
  Generator generator(1);
  const Tensor x = randn({s.n, s.c, s.h, s.w}, {}, generator), w = randn({s.oc, s.c, s.k, s.k}, {}, generator);
  const Tensor b = randn({s.oc}, {}, generator);
  for (auto _ : state) benchmark::DoNotOptimize(conv2d(x, w, b).data_ptr());
  rate(state, s.forward_flops());
}

// Backward for input and weight (two products of the forward's size each).
void BM_conv2d_backward(benchmark::State& state) {
  const ConvShape s = kShapes[state.range(0)];
  Generator generator(2);
  const Tensor x = randn({s.n, s.c, s.h, s.w}, {}, generator).set_requires_grad(true);
  const Tensor w = randn({s.oc, s.c, s.k, s.k}, {}, generator).set_requires_grad(true);
  const Tensor grad = randn({s.n, s.oc, s.out_h(), s.out_w()}, {}, generator);
  for (auto _ : state) {
    state.PauseTiming();
    const Tensor y = conv2d(x, w);
    x.reset_grad();
    w.reset_grad();
    state.ResumeTiming();
    y.backward(grad);
  }
  rate(state, 2 * s.forward_flops());
}

void BM_eigen_equivalent_gemm(benchmark::State& state) {
  const ConvShape s = kShapes[state.range(0)];
  using Matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const Matrix weights = Matrix::Random(s.oc, s.c * s.k * s.k);
  const Matrix columns = Matrix::Random(s.c * s.k * s.k, s.n * s.out_h() * s.out_w());
  Matrix out(s.oc, s.n * s.out_h() * s.out_w());
  for (auto _ : state) {
    out.noalias() = weights * columns;
    benchmark::DoNotOptimize(out.data());
  }
  rate(state, s.forward_flops());
}

}  // namespace

BENCHMARK(BM_conv2d_forward)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_conv2d_backward)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_eigen_equivalent_gemm)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_MAIN();
