#include "core/ember.h"
#include "mlp_peer.h"
#include "nn/nn.h"
#include "optim/optim.h"

using namespace ember;

namespace {

class EmberMlp : public MlpStep {
 public:
  explicit EmberMlp(int threads)
      : model_{std::make_shared<nn::Linear>(784, 256), std::make_shared<nn::ReLU>(),
               std::make_shared<nn::Linear>(256, 128), std::make_shared<nn::ReLU>(),
               std::make_shared<nn::Linear>(128, 10)},
        optimizer_(model_.parameters(), {.lr = 1e-3}) {
    set_num_threads(threads);
    Generator generator(0);
    x_ = randn({kMlpBatch, 784}, {}, generator);
    std::vector<std::int64_t> labels;
    for (std::int64_t i = 0; i < kMlpBatch; ++i) labels.push_back(i % 10);
    y_ = from_vector(labels);
  }
  void run() override {
    optimizer_.zero_grad();
    const Tensor loss = nn::functional::cross_entropy(model_(x_), y_);
    loss.backward();
    optimizer_.step();
  }

 private:
  nn::Sequential model_;
  optim::Adam optimizer_;
  Tensor x_, y_;
};

}  // namespace

std::unique_ptr<MlpStep> make_ember_mlp(int threads) { return std::make_unique<EmberMlp>(threads); }
