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
  }
  void run(const float* images, const std::int64_t* labels) override {
    // The batch is borrowed, as a data loader's pinned batch would be: no copy.
    const Tensor x = from_blob(const_cast<float*>(images), {kMlpBatch, 784}, DType::f32);
    const Tensor y = from_blob(const_cast<std::int64_t*>(labels), {kMlpBatch}, DType::i64);
    optimizer_.zero_grad();
    const Tensor loss = nn::functional::cross_entropy(model_(x), y);
    loss.backward();
    optimizer_.step();
  }

 private:
  nn::Sequential model_;
  optim::Adam optimizer_;
};

}  // namespace

std::unique_ptr<MlpStep> make_ember_mlp(int threads) { return std::make_unique<EmberMlp>(threads); }
