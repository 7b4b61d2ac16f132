// Kernel benchmarks, each beside its reference in the same run:
//   GEMM f32: ember::matmul vs Eigen's GEMM called directly, in GFLOP/s.
//   add / relu on 16M floats: ember vs an Eigen array expression (single-threaded, as Eigen
//   runs coefficient-wise code) and STREAM copy (the bandwidth bound), in bytes/s of
//   memory traffic (reads + writes).
#include <benchmark/benchmark.h>


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

// The bandwidth bound: STREAM's copy kernel (a plain vectorized loop) on the threads ember's
// kernels use. glibc's memcpy streams past the cache at this size and measures less.
void BM_stream_copy(benchmark::State& state) {
  const Tensor src = ones({kElements}), dst = zeros({kElements});
  const float* from = src.data<float>();
  float* to = dst.data<float>();
  for (auto _ : state) {
#pragma omp parallel for simd schedule(static)
    for (std::int64_t i = 0; i < kElements; ++i) to[i] = from[i];
    benchmark::DoNotOptimize(to);
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
BENCHMARK(BM_stream_copy)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_MAIN();
