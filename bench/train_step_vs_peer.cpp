// A Fashion-MNIST training step (Adam 1e-3, batch 64): ember vs LibTorch in the same run, same
// thread count, same batches. Built twice: mlp_vs_peer (784-256-128-10) and cnn_vs_peer (the
// reference CNN), chosen by EMBER_BENCH_MODEL. Each in f32 and in bf16-mixed (forward and loss
// under autocast to bf16, f32 weights). The four steps are timed in alternating rounds
// (bench/rounds.h: ember f32, ember bf16-mixed, LibTorch f32, LibTorch bf16-mixed, --rounds
// times), each figure the mean ms of --steps steps; printed: samples/s of each side's best round,
// and every ratio by the best rounds and as the median of the per-round ratios.
// Threads: EMBER_BENCH_THREADS (default 2).
//
//   ./build/bench/cnn_vs_peer [--rounds N] [--steps N]
//
// The batches walk through the real training set (random images if it is not installed): a
// single batch repeated thousands of times is learned to zero loss, and the tiny gradients
// that follow turn into denormal floats that slow both libraries down several-fold.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "bench/rounds.h"
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

// One library's step at one precision, walking through the training set batch by batch.
class TimedStep {
 public:
  explicit TimedStep(std::unique_ptr<TrainStep> step) : step_(std::move(step)) {
    for (int i = 0; i < 20; ++i) next();  // warm up: first-touch allocations, optimizer state
  }
  // Mean milliseconds per step over `steps` steps.
  double ms_per_step(int steps) {
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < steps; ++i) next();
    return 1e3 * std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / steps;
  }

 private:
  void next() {
    const TrainingSet& set = training_set();
    const std::int64_t batches = set.images.size(0) / kBenchBatch;
    step_->run(set.images.data<float>() + batch_ * kBenchBatch * 28 * 28,
               set.labels.data<std::int64_t>() + batch_ * kBenchBatch);
    batch_ = (batch_ + 1) % batches;
  }

  std::unique_ptr<TrainStep> step_;
  std::int64_t batch_ = 0;
};

constexpr BenchModel kModel = BenchModel::EMBER_BENCH_MODEL;
constexpr const char* kModelName = kModel == BenchModel::mlp ? "MLP 784-256-128-10" : "CNN (2 conv + 2 linear)";
constexpr const char* kPrecisions[] = {"f32", "bf16-mixed"};

double samples_per_second(double ms) { return 1e3 * static_cast<double>(kBenchBatch) / ms; }

}  // namespace

int main(int argc, char** argv) {
  int rounds = 5, steps = 60;
  CLI::App app{"A Fashion-MNIST training step, ember beside LibTorch, in alternating rounds", "train_step_vs_peer"};
  app.add_option("--rounds", rounds, "rounds of the four steps in turn (each side's best is shown)")
      ->check(CLI::Range(1, 100))->capture_default_str();
  app.add_option("--steps", steps, "timed steps per measurement (their mean is taken)")
      ->check(CLI::Range(1, 100000))->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  const int threads = bench_threads();

  TimedStep ember[] = {TimedStep(make_ember_step(kModel, threads, false)),
                       TimedStep(make_ember_step(kModel, threads, true))};
#ifdef EMBER_BENCH_HAVE_TORCH
  TimedStep torch[] = {TimedStep(make_torch_step(kModel, threads, false)),
                       TimedStep(make_torch_step(kModel, threads, true))};
  constexpr bool have_torch = true;
#else
  constexpr bool have_torch = false;
#endif
  ember::bench::Rounds measured;
  for (int r = 0; r < rounds; ++r) {
    ember::bench::Round round;
    for (int p = 0; p < 2; ++p) round.ember_ms[kPrecisions[p]] = ember[p].ms_per_step(steps);
#ifdef EMBER_BENCH_HAVE_TORCH
    for (int p = 0; p < 2; ++p) round.peer_ms[kPrecisions[p]] = torch[p].ms_per_step(steps);
#endif
    measured.add(std::move(round));
  }

  std::printf("%s train step, Adam, batch %lld, %d threads; %d rounds of %d steps of each (samples/s: the best\n"
              "round; ratios: of the best rounds, and the median of the per-round ratios)\n\n",
              kModelName, static_cast<long long>(kBenchBatch), threads, rounds, steps);
  std::printf("| precision | ember samples/s | LibTorch samples/s | ember / LibTorch (best) | (median of rounds) |\n"
              "|---|---|---|---|---|\n");
  for (const char* precision : kPrecisions) {
    const double ember_ms = measured.best_ember_ms(precision);
    std::printf("| %s | %.0f |", precision, samples_per_second(ember_ms));
    if (have_torch) {
      const double torch_ms = measured.best_peer_ms(precision);
      std::printf(" %.0f | %.2fx | %.2fx |\n", samples_per_second(torch_ms), torch_ms / ember_ms,
                  measured.median_speed_ratio(precision));
    } else {
      std::printf(" not measured (peer not installed: apt-get install libtorch-dev) | - | - |\n");
    }
  }
  std::printf("\nbf16-mixed / f32 speed: ember %.2fx (best), %.2fx (median of rounds)",
              measured.best_ember_ms("f32") / measured.best_ember_ms("bf16-mixed"),
              measured.median_ember_speedup("f32", "bf16-mixed"));
  if (have_torch) {
    std::printf("; LibTorch %.2fx (best), %.2fx (median of rounds)",
                measured.best_peer_ms("f32") / measured.best_peer_ms("bf16-mixed"),
                measured.median_peer_speedup("f32", "bf16-mixed"));
  }
  std::printf("\n");
  return 0;
}
