// What a product that embeds ember does with a model trained elsewhere (by ember's Trainer or
// by PyTorch): load the weights, classify a batch in eval mode without recording gradients,
// fine-tune a few steps on new examples, and save the result for the next run.
//
//   embedding WEIGHTS [--prefix model.net.] [--data DIR] [--steps N] [--out FILE]
//
// WEIGHTS is a safetensors file of the Fashion-MNIST CNN: an ember checkpoint
// (fashion_mnist --out RUN writes RUN/checkpoints/last.safetensors, whose network keys start
// with "model.net.", the default --prefix) or PyTorch's state_dict of the same architecture
// (--prefix "").
#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>

#include "core/ember.h"
#include "data/fashion_mnist.h"
#include "nn/models.h"
#include "nn/nn.h"
#include "optim/optim.h"

using namespace ember;

namespace {

struct Options {
  std::string weights;
  std::string prefix = "model.net.";
  std::string data = data::kFashionMnistRoot;
  int steps = 5;
  std::string out = "fine_tuned.safetensors";
};

// The standardization the main job trains with (examples/fashion_mnist).
Tensor standardize(const Tensor& images) { return (images - 0.2860) / 0.3530; }

double accuracy(nn::Module& model, const Tensor& images, const Tensor& labels) {
  model.eval();
  NoGradGuard no_grad;  // inference: no graph, no saved activations
  const Tensor correct = sum(eq(argmax(model(images), 1), labels));
  return static_cast<double>(correct.item<std::int64_t>()) / static_cast<double>(labels.size(0));
}

int run(const Options& options) {
  std::shared_ptr<nn::Sequential> model = nn::models::fashion_mnist_cnn();
  model->load_safetensors(options.weights, {.strip_prefix = options.prefix});
  std::printf("loaded %zu tensors from %s\n", model->state_dict().size(), options.weights.c_str());

  const data::FashionMnist test = data::load_fashion_mnist(options.data, false);
  const Tensor images = standardize(test.images.slice(0, 0, 1000)), labels = test.labels.slice(0, 0, 1000);
  std::printf("accuracy before fine-tuning: %.4f (%lld test images)\n", accuracy(*model, images, labels),
              static_cast<long long>(labels.size(0)));

  // Fine-tuning: a few Adam steps at a small learning rate on batches of the training set.
  const data::FashionMnist train = data::load_fashion_mnist(options.data, true);
  optim::Adam adam(model->parameters(), {.lr = 1e-4});
  model->train();
  for (int step = 0; step < options.steps; ++step) {
    const Tensor batch = standardize(train.images.slice(0, 64 * step, 64 * (step + 1)));
    const Tensor loss = nn::functional::cross_entropy((*model)(batch), train.labels.slice(0, 64 * step, 64 * (step + 1)));
    adam.zero_grad();
    loss.backward();
    adam.step();
    std::printf("fine-tuning step %d: loss %.4f\n", step + 1, loss.item<double>());
  }
  std::printf("accuracy after fine-tuning: %.4f\n", accuracy(*model, images, labels));

  model->save_safetensors(options.out);
  std::printf("saved the fine-tuned weights to %s (PyTorch's load_state_dict reads them)\n", options.out.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app{"Loads a Fashion-MNIST CNN, classifies test images, fine-tunes and saves it", "embedding"};
  app.add_option("weights", options.weights, "safetensors file of the CNN (ember checkpoint or PyTorch state_dict)")
      ->required();
  app.add_option("--prefix", options.prefix, "key prefix of the network in the file (\"\" for a bare state_dict)")
      ->capture_default_str();
  app.add_option("--data", options.data, "folder of the Fashion-MNIST files")->capture_default_str();
  app.add_option("--steps", options.steps, "fine-tuning steps")->check(CLI::Range(0, 1 << 20))->capture_default_str();
  app.add_option("--out", options.out, "where to save the fine-tuned weights")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  try {
    return run(options);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "embedding: %s\n", error.what());
    return 1;
  }
}
