#include "core/ember.h"
#include "nn/models.h"
#include "nn/nn.h"
#include "optim/optim.h"
#include "train_step_peer.h"

using namespace ember;

namespace {

std::shared_ptr<nn::Sequential> make_model(BenchModel model) {
  return model == BenchModel::mlp ? nn::models::fashion_mnist_mlp() : nn::models::fashion_mnist_cnn();
}

class EmberStep : public TrainStep {
 public:
  EmberStep(BenchModel model, int threads, bool bf16_mixed)
      : model_(make_model(model)), optimizer_(model_->parameters(), {.lr = 1e-3}), bf16_mixed_(bf16_mixed) {
    set_num_threads(threads);
  }
  void run(const float* images, const std::int64_t* labels) override {
    // The batch is borrowed, as a data loader's pinned batch would be: no copy.
    const Tensor x = from_blob(const_cast<float*>(images), {kBenchBatch, 1, 28, 28}, DType::f32);
    const Tensor y = from_blob(const_cast<std::int64_t*>(labels), {kBenchBatch}, DType::i64);
    optimizer_.zero_grad();
    Tensor loss;
    {
      AutocastGuard autocast(DType::bf16, bf16_mixed_);
      loss = nn::functional::cross_entropy((*model_)(x), y);
    }
    loss.backward();
    optimizer_.step();
  }

 private:
  std::shared_ptr<nn::Sequential> model_;
  optim::Adam optimizer_;
  bool bf16_mixed_;
};

}  // namespace

std::unique_ptr<TrainStep> make_ember_step(BenchModel model, int threads, bool bf16_mixed) {
  return std::make_unique<EmberStep>(model, threads, bf16_mixed);
}
