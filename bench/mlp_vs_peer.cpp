// The Fashion-MNIST MLP training step (784-256-128-10, Adam 1e-3, batch 64): ember vs LibTorch
// in the same run, same thread count. Prints Google Benchmark's table, then samples/s of each
// and their ratio. Threads: EMBER_BENCH_THREADS (default 2).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <map>

#include "mlp_peer.h"

namespace {

int bench_threads() {
  const char* text = std::getenv("EMBER_BENCH_THREADS");
  return text ? std::max(1, std::atoi(text)) : 2;
}

void run_steps(benchmark::State& state, MlpStep& step) {
  for (int i = 0; i < 20; ++i) step.run();  // warm up: first-touch allocations, optimizer state
  for (auto _ : state) step.run();
  state.SetItemsProcessed(state.iterations() * kMlpBatch);
}

void BM_ember_mlp_step(benchmark::State& state) {
  auto step = make_ember_mlp(bench_threads());
  run_steps(state, *step);
}

#ifdef EMBER_BENCH_HAVE_TORCH
void BM_libtorch_mlp_step(benchmark::State& state) {
  auto step = make_torch_mlp(bench_threads());
  run_steps(state, *step);
}
#endif

// Remembers samples/s per benchmark while printing the usual table.
class RecordingReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      const auto found = run.counters.find("items_per_second");
      if (found != run.counters.end()) samples_per_second[run.benchmark_name()] = found->second.value;
    }
    ConsoleReporter::ReportRuns(runs);
  }
  std::map<std::string, double> samples_per_second;
};

}  // namespace

BENCHMARK(BM_ember_mlp_step)->Unit(benchmark::kMicrosecond)->UseRealTime()->MinTime(3.0);
#ifdef EMBER_BENCH_HAVE_TORCH
BENCHMARK(BM_libtorch_mlp_step)->Unit(benchmark::kMicrosecond)->UseRealTime()->MinTime(3.0);
#endif

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  RecordingReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  const int threads = bench_threads();
  std::printf("\nMLP 784-256-128-10 train step, Adam, batch %lld, %d threads\n", static_cast<long long>(kMlpBatch),
              threads);
  std::printf("%-10s %14s\n", "impl", "samples/s");
  double ember = 0, torch = 0;
  for (const auto& [name, rate] : reporter.samples_per_second) {
    if (name.find("ember") != std::string::npos) ember = rate;
    if (name.find("libtorch") != std::string::npos) torch = rate;
  }
  std::printf("%-10s %14.0f\n", "ember", ember);
  if (torch > 0) {
    std::printf("%-10s %14.0f\n%-10s %13.2fx\n", "LibTorch", torch, "ratio", ember / torch);
  } else {
    std::printf("%-10s %14s\n", "LibTorch", "peer not installed (apt-get install libtorch-dev)");
  }
  benchmark::Shutdown();
  return 0;
}
