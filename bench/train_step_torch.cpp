// The LibTorch peer: the same models, optimizer and batches as train_step_ember.cpp.
#include <ATen/autocast_mode.h>
#include <torch/torch.h>

#include "train_step_peer.h"

namespace {

torch::nn::Sequential make_model(BenchModel model) {
  namespace nn = torch::nn;
  if (model == BenchModel::mlp) {
    return nn::Sequential(nn::Flatten(), nn::Linear(784, 256), nn::ReLU(), nn::Linear(256, 128), nn::ReLU(),
                          nn::Linear(128, 10));
  }
  return nn::Sequential(nn::Conv2d(nn::Conv2dOptions(1, 32, 3)), nn::ReLU(), nn::MaxPool2d(nn::MaxPool2dOptions(2)),
                        nn::Conv2d(nn::Conv2dOptions(32, 64, 3)), nn::ReLU(), nn::MaxPool2d(nn::MaxPool2dOptions(2)),
                        nn::Flatten(), nn::Linear(1600, 128), nn::ReLU(), nn::Linear(128, 10));
}

class TorchStep : public TrainStep {
 public:
  TorchStep(BenchModel model, int threads, bool bf16_mixed)
      : model_(make_model(model)),
        optimizer_(model_->parameters(), torch::optim::AdamOptions(1e-3)),
        bf16_mixed_(bf16_mixed) {
    torch::set_num_threads(threads);
  }
  void run(const float* images, const std::int64_t* labels) override {
    const torch::Tensor x = torch::from_blob(const_cast<float*>(images), {kBenchBatch, 1, 28, 28}, torch::kFloat);
    const torch::Tensor y = torch::from_blob(const_cast<std::int64_t*>(labels), {kBenchBatch}, torch::kLong);
    optimizer_.zero_grad();
    // torch.autocast("cpu", dtype=torch.bfloat16) around forward and loss, as in Python.
    at::autocast::set_cpu_enabled(bf16_mixed_);
    at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
    const torch::Tensor loss = torch::nn::functional::cross_entropy(model_->forward(x), y);
    at::autocast::set_cpu_enabled(false);
    at::autocast::clear_cache();
    loss.backward();
    optimizer_.step();
  }

 private:
  torch::nn::Sequential model_;
  torch::optim::Adam optimizer_;
  bool bf16_mixed_;
};

}  // namespace

std::unique_ptr<TrainStep> make_torch_step(BenchModel model, int threads, bool bf16_mixed) {
  return std::make_unique<TorchStep>(model, threads, bf16_mixed);
}
