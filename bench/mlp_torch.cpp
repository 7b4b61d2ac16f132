// The LibTorch peer of bench/mlp_vs_peer: the same model, optimizer and batch as mlp_ember.cpp.
#include <torch/torch.h>

#include "mlp_peer.h"

namespace {

class TorchMlp : public MlpStep {
 public:
  explicit TorchMlp(int threads)
      : model_(torch::nn::Linear(784, 256), torch::nn::ReLU(), torch::nn::Linear(256, 128), torch::nn::ReLU(),
               torch::nn::Linear(128, 10)),
        optimizer_(model_->parameters(), torch::optim::AdamOptions(1e-3)) {
    torch::set_num_threads(threads);
  }
  void run(const float* images, const std::int64_t* labels) override {
    const torch::Tensor x = torch::from_blob(const_cast<float*>(images), {kMlpBatch, 784}, torch::kFloat);
    const torch::Tensor y = torch::from_blob(const_cast<std::int64_t*>(labels), {kMlpBatch}, torch::kLong);
    optimizer_.zero_grad();
    const torch::Tensor loss = torch::nn::functional::cross_entropy(model_->forward(x), y);
    loss.backward();
    optimizer_.step();
  }

 private:
  torch::nn::Sequential model_;
  torch::optim::Adam optimizer_;
};

}  // namespace

std::unique_ptr<MlpStep> make_torch_mlp(int threads) { return std::make_unique<TorchMlp>(threads); }
