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
    torch::manual_seed(0);
    x_ = torch::randn({kMlpBatch, 784});
    y_ = torch::arange(kMlpBatch, torch::kLong).remainder(10);
  }
  void run() override {
    optimizer_.zero_grad();
    const torch::Tensor loss = torch::nn::functional::cross_entropy(model_->forward(x_), y_);
    loss.backward();
    optimizer_.step();
  }

 private:
  torch::nn::Sequential model_;
  torch::optim::Adam optimizer_;
  torch::Tensor x_, y_;
};

}  // namespace

std::unique_ptr<MlpStep> make_torch_mlp(int threads) { return std::make_unique<TorchMlp>(threads); }
