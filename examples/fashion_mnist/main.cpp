// Fashion-MNIST: an MLP 784-256-128-10 or a small CNN trained with Adam by a plain loop in the
// canonical order (zero_grad, forward, loss, backward, step). Prints per epoch the training
// speed, the training loss and the test accuracy.
#include <chrono>
#include <cstdio>
#include <iostream>

#include "core/ember.h"
#include "data/fashion_mnist.h"
#include "nn/nn.h"
#include "optim/optim.h"
#include "options.h"

using namespace ember;

namespace {

// Both models take [N, 1, 28, 28] images.
std::shared_ptr<nn::Sequential> make_model(const std::string& kind) {
  using std::make_shared;
  if (kind == "mlp") {
    return make_shared<nn::Sequential>(std::initializer_list<std::shared_ptr<nn::Module>>{
        make_shared<nn::Flatten>(), make_shared<nn::Linear>(784, 256), make_shared<nn::ReLU>(),
        make_shared<nn::Linear>(256, 128), make_shared<nn::ReLU>(), make_shared<nn::Linear>(128, 10)});
  }
  // conv(1->32, 3)-relu-maxpool2, conv(32->64, 3)-relu-maxpool2, linear(1600->128)-relu, linear(128->10):
  // 28x28 -> 26x26 -> 13x13 -> 11x11 -> 5x5, and 64 * 5 * 5 = 1600.
  return make_shared<nn::Sequential>(std::initializer_list<std::shared_ptr<nn::Module>>{
      make_shared<nn::Conv2d>(1, 32, std::array<std::int64_t, 2>{3, 3}), make_shared<nn::ReLU>(),
      make_shared<nn::MaxPool2d>(Pool2dParams{.kernel = {2, 2}}),
      make_shared<nn::Conv2d>(32, 64, std::array<std::int64_t, 2>{3, 3}), make_shared<nn::ReLU>(),
      make_shared<nn::MaxPool2d>(Pool2dParams{.kernel = {2, 2}}), make_shared<nn::Flatten>(),
      make_shared<nn::Linear>(1600, 128), make_shared<nn::ReLU>(), make_shared<nn::Linear>(128, 10)});
}

// Fraction of `images` whose argmax logit equals the label, evaluated in eval mode without grad.
double accuracy(nn::Module& model, const Tensor& images, const Tensor& labels) {
  NoGradGuard no_grad;
  model.eval();
  std::int64_t correct = 0;
  const std::int64_t n = images.size(0);
  for (std::int64_t start = 0; start < n; start += 1000) {
    const std::int64_t end = std::min(n, start + 1000);
    const Tensor predicted = argmax(model(images.slice(0, start, end)), 1);
    correct += sum(eq(predicted, labels.slice(0, start, end))).item<std::int64_t>();
  }
  model.train();
  return static_cast<double>(correct) / static_cast<double>(n);
}

int run(const Options& options) {
  set_num_threads(options.threads);
  manual_seed(options.seed);
  const data::FashionMnist train = data::load_fashion_mnist(options.data, true);
  const data::FashionMnist test = data::load_fashion_mnist(options.data, false);
  // Standardize with the training set's pixel mean and std (0.2860, 0.3530), as is usual for
  // Fashion-MNIST: zero-centred inputs train faster than raw [0, 1] intensities.
  const Tensor train_x = (train.images - 0.2860) / 0.3530;
  const Tensor test_x = (test.images - 0.2860) / 0.3530;
  const std::int64_t n = train_x.size(0);

  auto model = make_model(options.model);
  optim::Adam optimizer(model->parameters(), {.lr = 1e-3});
  Generator shuffle(options.seed + 1);
  std::printf("training %s on %lld images, batch %lld, %d threads\n",
              options.model == "mlp" ? "MLP 784-256-128-10" : "CNN (2 conv + 2 linear)", static_cast<long long>(n),
              static_cast<long long>(options.batch_size), options.threads);
  std::printf("%5s  %12s  %10s  %9s\n", "epoch", "samples/s", "train loss", "test acc");

  double final_accuracy = 0;
  for (int epoch = 1; epoch <= options.epochs; ++epoch) {
    const Tensor order = randperm(n, shuffle);
    double loss_sum = 0;
    const auto start = std::chrono::steady_clock::now();
    for (std::int64_t first = 0; first < n; first += options.batch_size) {
      const Tensor batch = order.slice(0, first, std::min(n, first + options.batch_size));
      const Tensor x = index_select(train_x, 0, batch);
      const Tensor y = index_select(train.labels, 0, batch);
      optimizer.zero_grad();
      const Tensor loss = nn::functional::cross_entropy((*model)(x), y);
      loss.backward();
      optimizer.step();
      loss_sum += loss.item<double>() * static_cast<double>(batch.numel());
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    final_accuracy = accuracy(*model, test_x, test.labels);
    std::printf("%5d  %12.0f  %10.4f  %9.4f\n", epoch, static_cast<double>(n) / seconds,
                loss_sum / static_cast<double>(n), final_accuracy);
    std::fflush(stdout);
  }
  std::printf("final test accuracy: %.4f\n", final_accuracy);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(parse_options(argc, argv));
  } catch (const Error& error) {
    std::cerr << "fashion_mnist: " << error.what() << '\n';
    return 2;
  }
}
