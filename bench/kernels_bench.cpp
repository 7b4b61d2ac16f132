// Kernel benchmarks, each beside its reference in the same run:
//   GEMM f32: ember::matmul vs Eigen's GEMM called directly, in GFLOP/s.
//   add / relu on 16M floats: ember vs an Eigen array expression and memcpy (the bandwidth
//   bound: a copy moves 2 bytes per byte copied), in bytes/s of traffic.
#include <benchmark/benchmark.h>

#include <cstring>

#include "core/ember.h"

using namespace ember;

namespace {

constexpr std::int64_t kElements = 16 * 1024 * 1024;

void gemm_counters(benchmark::State& state, std::int64_t n) {
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * static_cast<double>(n * n * n) * 1e-9,
                                                 benchmark::Counter::kIsIterationInvariantRate);
}

void BM_ember_matmul_f32(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  Generator generator(1);
  const Tensor a = randn({n, n}, {}, generator), b = randn({n, n}, {}, generator);
  for (auto _ : state) benchmark::DoNotOptimize(matmul(a, b).data_ptr());
  gemm_counters(state, n);
}

void BM_eigen_gemm_f32(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  using Matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const Matrix a = Matrix::Random(n, n), b = Matrix::Random(n, n);
  Matrix c(n, n);
  for (auto _ : state) {
    c.noalias() = a * b;
    benchmark::DoNotOptimize(c.data());
  }
  gemm_counters(state, n);
}

void BM_ember_add(benchmark::State& state) {
  const Tensor a = ones({kElements}), b = ones({kElements});
  for (auto _ : state) benchmark::DoNotOptimize(add(a, b).data_ptr());
  state.SetBytesProcessed(state.iterations() * kElements * 3 * 4);  // read a, b; write out
}

void BM_ember_add_inplace(benchmark::State& state) {
  Tensor a = ones({kElements});
  const Tensor b = ones({kElements});
  for (auto _ : state) benchmark::DoNotOptimize(a.add_(b).data_ptr());
  state.SetBytesProcessed(state.iterations() * kElements * 3 * 4);  // read a, b; write a
}

void BM_eigen_add(benchmark::State& state) {
  const Eigen::ArrayXf a = Eigen::ArrayXf::Ones(kElements), b = Eigen::ArrayXf::Ones(kElements);
  Eigen::ArrayXf c(kElements);
  for (auto _ : state) {
    c = a + b;
    benchmark::DoNotOptimize(c.data());
  }
  state.SetBytesProcessed(state.iterations() * kElements * 3 * 4);
}

void BM_ember_relu(benchmark::State& state) {
  const Tensor a = randn({kElements});
  for (auto _ : state) benchmark::DoNotOptimize(relu(a).data_ptr());
  state.SetBytesProcessed(state.iterations() * kElements * 2 * 4);  // read a; write out
}

void BM_memcpy(benchmark::State& state) {
  std::vector<float> src(kElements, 1.0f), dst(kElements);
  for (auto _ : state) {
    std::memcpy(dst.data(), src.data(), kElements * sizeof(float));
    benchmark::DoNotOptimize(dst.data());
  }
  state.SetBytesProcessed(state.iterations() * kElements * 2 * 4);  // read + write
}

}  // namespace

BENCHMARK(BM_ember_matmul_f32)->Arg(256)->Arg(1024)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_eigen_gemm_f32)->Arg(256)->Arg(1024)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_ember_add)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_ember_add_inplace)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_eigen_add)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_ember_relu)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_memcpy)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_MAIN();
