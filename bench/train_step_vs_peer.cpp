// A Fashion-MNIST training step (Adam 1e-3, batch 64): ember vs LibTorch in the same run, same
// thread count, same batches. Built twice: mlp_vs_peer (784-256-128-10) and cnn_vs_peer (the
// reference CNN), chosen by EMBER_BENCH_MODEL. Each in f32 and in bf16-mixed (forward and loss
// under autocast to bf16, f32 weights; argument 1 of the benchmarks). Prints Google Benchmark's
// table, then samples/s of each and their ratios. Threads: EMBER_BENCH_THREADS (default 2).
//
// The batches walk through the real training set (random images if it is not installed): a
// single batch repeated thousands of times is learned to zero loss, and the tiny gradients
// that follow turn into denormal floats that slow both libraries down several-fold.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>

#include "core/ember.h"
#include "data/fashion_mnist.h"
#include "train_step_peer.h"

namespace {

int bench_threads() {
  const char* text = std::getenv("EMBER_BENCH_THREADS");
  return text ? std::max(1, std::atoi(text)) : 2;
}

struct TrainingSet {
  ember::Tensor images;  // f32 [N, 1, 28, 28], standardized like the example
  ember::Tensor labels;  // i64 [N]
};

const TrainingSet& training_set() {
  static const TrainingSet set = [] {
    using namespace ember;
    if (std::filesystem::exists(data::kFashionMnistRoot)) {
      const data::FashionMnist train = data::load_fashion_mnist(data::kFashionMnistRoot, true);
      return TrainingSet{(train.images - 0.2860) / 0.3530, train.labels};
    }
    Generator generator(0);
    return TrainingSet{randn({60000, 1, 28, 28}, {}, generator), (rand({60000}, {}, generator) * 10.0).to(DType::i64)};
  }();
  return set;
}

void run_steps(benchmark::State& state, TrainStep& step) {
  const TrainingSet& set = training_set();
  const std::int64_t batches = set.images.size(0) / kBenchBatch;
  const float* images = set.images.data<float>();
  const std::int64_t* labels = set.labels.data<std::int64_t>();
  std::int64_t batch = 0;
  auto next = [&] {
    step.run(images + batch * kBenchBatch * 28 * 28, labels + batch * kBenchBatch);
    batch = (batch + 1) % batches;
  };
  for (int i = 0; i < 20; ++i) next();  // warm up: first-touch allocations, optimizer state
  for (auto _ : state) next();
  state.SetItemsProcessed(state.iterations() * kBenchBatch);
}

constexpr BenchModel kModel = BenchModel::EMBER_BENCH_MODEL;
constexpr const char* kModelName = kModel == BenchModel::mlp ? "MLP 784-256-128-10" : "CNN (2 conv + 2 linear)";

void BM_ember_step(benchmark::State& state) {
  auto step = make_ember_step(kModel, bench_threads(), state.range(0) == 1);
  run_steps(state, *step);
}

#ifdef EMBER_BENCH_HAVE_TORCH
void BM_libtorch_step(benchmark::State& state) {
  auto step = make_torch_step(kModel, bench_threads(), state.range(0) == 1);
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

BENCHMARK(BM_ember_step)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond)->UseRealTime()->MinTime(3.0);
#ifdef EMBER_BENCH_HAVE_TORCH
BENCHMARK(BM_libtorch_step)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond)->UseRealTime()->MinTime(3.0);
#endif

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  RecordingReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  const int threads = bench_threads();
  std::printf("\n%s train step, Adam, batch %lld, %d threads\n", kModelName, static_cast<long long>(kBenchBatch),
              threads);
  // Benchmark names end in /0 (f32) or /1 (bf16-mixed).
  auto rate = [&](const char* impl, int precision) {
    const char* tag = precision == 0 ? "/0/" : "/1/";
    for (const auto& [name, value] : reporter.samples_per_second) {
      if (name.find(impl) != std::string::npos && name.find(tag) != std::string::npos) {
        return value;
      }
    }
    return 0.0;
  };
  std::printf("| precision | ember samples/s | LibTorch samples/s | ember / LibTorch |\n|---|---|---|---|\n");
  for (int precision : {0, 1}) {
    const double ember = rate("ember", precision), torch = rate("libtorch", precision);
    std::printf("| %s | %.0f |", precision == 0 ? "32" : "bf16-mixed", ember);
    if (torch > 0) {
      std::printf(" %.0f | %.2fx |\n", torch, ember / torch);
    } else {
      std::printf(" not measured (peer not installed: apt-get install libtorch-dev) | - |\n");
    }
  }
  std::printf("bf16-mixed / f32 speed: ember %.2fx", rate("ember", 1) / rate("ember", 0));
  if (rate("libtorch", 0) > 0) std::printf(", LibTorch %.2fx", rate("libtorch", 1) / rate("libtorch", 0));
  std::printf("\n");
  benchmark::Shutdown();
  return 0;
}
