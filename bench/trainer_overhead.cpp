// Trainer overhead: one epoch of Fashion-MNIST through Trainer::fit vs the same epoch through a
// hand-written loop in the same canonical order (zero_grad, forward, loss, backward, step), on
// the same model, weights, optimizer and batches; and Trainer::fit without its per-step safety
// checks (the non-finite loss record, a comparison on the device, and the preemption flag), to
// price them. Runs alternate so drifts in machine speed hit all sides; the table gives each
// side's median epoch time and the Trainer's ratio to the hand loop (target <= 1.01).
//
//   ./build/bench/trainer_overhead [--model mlp|cnn] [--rounds N] [--batches N] [--threads N]
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/ember.h"
#include "data/data_loader.h"
#include "data/fashion_mnist.h"
#include "nn/models.h"
#include "nn/nn.h"
#include "optim/optim.h"
#include "trainer/trainer.h"

using namespace ember;

namespace {

struct Settings {
  std::string model = "mlp";
  int rounds = 5;
  std::int64_t batches = -1;  // per epoch; -1: the whole training set
  int threads = 2;
};

// The command line (CLI11): --help prints it and exits 0.
Settings parse(int argc, char** argv) {
  Settings settings;
  CLI::App app{"One Fashion-MNIST epoch through Trainer::fit vs a hand-written loop", "trainer_overhead"};
  app.add_option("--model", settings.model, "the network")->check(CLI::IsMember({"mlp", "cnn"}))->capture_default_str();
  app.add_option("--rounds", settings.rounds, "epochs per side")->check(CLI::Range(1, 1000))->capture_default_str();
  app.add_option("--batches", settings.batches, "batches per epoch (-1: the whole training set)")
      ->check(CLI::Range(-1LL, 1LL << 30))->capture_default_str();
  app.add_option("--threads", settings.threads, "compute threads")->check(CLI::Range(1, 1024))->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    std::exit(app.exit(error));
  }
  return settings;
}

std::shared_ptr<nn::Sequential> make_model(const std::string& name) {
  manual_seed(0);  // the same initial weights for every epoch of both sides
  return name == "mlp" ? nn::models::fashion_mnist_mlp() : nn::models::fashion_mnist_cnn();
}

class Classifier : public trainer::TrainModule {
 public:
  explicit Classifier(const std::string& name) : net(register_module("net", make_model(name))) {}
  Tensor forward(const Tensor& x) override { return (*net)(x); }
  std::string type_name() const override { return "Classifier"; }
  Tensor training_step(const data::Batch& batch, std::int64_t) override {
    return nn::functional::cross_entropy(forward(batch[0]), batch[1]);
  }
  trainer::OptimizerConfig configure_optimizers() override {
    return {.optimizer = std::make_unique<optim::Adam>(parameters(), optim::AdamOptions{.lr = 1e-3})};
  }
  std::shared_ptr<nn::Sequential> net;
};

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double hand_loop_epoch(const Settings& settings, data::DataLoader& loader) {
  const auto model = make_model(settings.model);
  optim::Adam optimizer(model->parameters(), {.lr = 1e-3});
  model->train();
  loader.set_epoch(0);
  const auto start = std::chrono::steady_clock::now();
  std::int64_t index = 0;
  for (const data::Batch& batch : loader) {
    if (settings.batches >= 0 && index++ >= settings.batches) break;
    optimizer.zero_grad();
    const Tensor loss = nn::functional::cross_entropy((*model)(batch[0]), batch[1]);
    loss.backward();
    optimizer.step();
  }
  return seconds_since(start);
}

// With `checks` off: nonfinite_loss = ignore, handle_preemption = false.
double trainer_epoch(const Settings& settings, data::DataLoader& loader, bool checks) {
  Classifier module(settings.model);
  trainer::TrainerOptions options{.max_epochs = 1, .limit_train_batches = settings.batches};
  if (!checks) {
    options.nonfinite_loss = trainer::NonfiniteLoss::ignore;
    options.handle_preemption = false;
  }
  trainer::Trainer trainer(options);
  const auto start = std::chrono::steady_clock::now();
  trainer.fit(module, loader);
  return seconds_since(start);
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Settings settings = parse(argc, argv);
    set_num_threads(settings.threads);
    const data::FashionMnist train = data::load_fashion_mnist(data::kFashionMnistRoot, true);
    const Tensor images = (train.images - 0.2860) / 0.3530;
    auto dataset = std::make_shared<data::TensorDataset>(std::vector<Tensor>{images, train.labels});
    data::DataLoader loader(dataset, {.batch_size = 64, .shuffle = true});
    const std::int64_t batches = settings.batches < 0 ? loader.size() : std::min(settings.batches, loader.size());
    std::printf("%s, %lld batches of 64 per epoch, %d threads, %d rounds (median epoch time)\n",
                settings.model.c_str(), static_cast<long long>(batches), settings.threads, settings.rounds);

    std::vector<double> hand, fitted, unchecked;
    hand_loop_epoch(settings, loader);  // warm-up: allocator caches, page faults, thread pool
    for (int round = 0; round < settings.rounds; ++round) {
      hand.push_back(hand_loop_epoch(settings, loader));
      fitted.push_back(trainer_epoch(settings, loader, true));
      unchecked.push_back(trainer_epoch(settings, loader, false));
    }
    const double hand_s = median(hand), trainer_s = median(fitted), unchecked_s = median(unchecked);
    const auto row = [&](const char* name, double seconds) {
      std::printf("| %s | %.3f | %.0f | %.1f |\n", name, seconds, static_cast<double>(batches * 64) / seconds,
                  1e6 * seconds / static_cast<double>(batches));
    };
    std::printf("| loop | epoch time (s) | samples/s | us/step |\n|---|---|---|---|\n");
    row("hand-written loop", hand_s);
    row("Trainer::fit", trainer_s);
    row("Trainer::fit, no non-finite loss check, no preemption handling", unchecked_s);
    std::printf("Trainer / hand loop: %.4f (target <= 1.01); the two checks: %+.1f us/step\n", trainer_s / hand_s,
                1e6 * (trainer_s - unchecked_s) / static_cast<double>(batches));
    return 0;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "trainer_overhead: %s\n", error.what());
    return 2;
  }
}
