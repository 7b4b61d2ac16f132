// The LibTorch peer: the U-Net of nn/unet.h (4 levels, BatchNorm, 2x2 transposed-conv
// upsampling, skip concatenation, 1x1 head), the same loss and optimizer as unet_step_ember.cpp.
#include <torch/torch.h>

#include "unet_step_peer.h"

namespace {

namespace nn = torch::nn;

nn::Sequential double_conv(std::int64_t in, std::int64_t out) {
  return nn::Sequential(nn::Conv2d(nn::Conv2dOptions(in, out, 3).padding(1).bias(false)), nn::BatchNorm2d(out),
                        nn::ReLU(), nn::Conv2d(nn::Conv2dOptions(out, out, 3).padding(1).bias(false)),
                        nn::BatchNorm2d(out), nn::ReLU());
}

struct UNetImpl : nn::Module {
  UNetImpl(std::int64_t classes, std::int64_t base) {
    for (int level = 0; level < 4; ++level) {
      const std::int64_t width = base << level;
      down.push_back(register_module("down" + std::to_string(level), double_conv(level == 0 ? 1 : width / 2, width)));
      upsample.push_back(
          register_module("upsample" + std::to_string(level),
                          nn::ConvTranspose2d(nn::ConvTranspose2dOptions(2 * width, width, 2).stride(2))));
      up.push_back(register_module("up" + std::to_string(level), double_conv(2 * width, width)));
    }
    bottleneck = register_module("bottleneck", double_conv(base << 3, base << 4));
    head = register_module("head", nn::Conv2d(nn::Conv2dOptions(base, classes, 1)));
  }
  torch::Tensor forward(torch::Tensor x) {
    std::vector<torch::Tensor> skips;
    for (auto& block : down) {
      x = block->forward(x);
      skips.push_back(x);
      x = torch::max_pool2d(x, 2);
    }
    x = bottleneck->forward(x);
    for (int level = 3; level >= 0; --level) {
      x = up[level]->forward(torch::cat({skips[level], upsample[level]->forward(x)}, 1));
    }
    return head->forward(x);
  }
  std::vector<nn::Sequential> down, up;
  std::vector<nn::ConvTranspose2d> upsample;
  nn::Sequential bottleneck{nullptr};
  nn::Conv2d head{nullptr};
};
TORCH_MODULE(UNet);

// ember's dice_loss (nn/loss.h) in LibTorch ops: 1 - mean over classes of
// (2 sum p y + 1) / (sum p + sum y + 1) over the counted pixels.
torch::Tensor dice_loss(const torch::Tensor& logits, const torch::Tensor& labels, std::int64_t classes) {
  const torch::Tensor target = labels.unsqueeze(1);
  const torch::Tensor counted = target.ne(-100).to(torch::kFloat);
  const torch::Tensor one_hot = target.eq(torch::arange(classes).view({1, classes, 1, 1})).to(torch::kFloat) * counted;
  const torch::Tensor p = torch::softmax(logits, 1) * counted;
  const torch::Tensor overlap = (p * one_hot).sum({0, 2, 3});
  const torch::Tensor total = p.sum({0, 2, 3}) + one_hot.sum({0, 2, 3});
  return 1 - ((2 * overlap + 1) / (total + 1)).mean();
}

class TorchUNetStep : public UNetStep {
 public:
  TorchUNetStep(const UNetStepShape& shape, int threads)
      : shape_(shape),
        net_(shape.classes, shape.base_width),
        optimizer_(net_->parameters(), torch::optim::AdamWOptions(1e-3).weight_decay(1e-4)),
        weight_(torch::ones({shape.classes})) {
    torch::set_num_threads(threads);
  }
  void run(const float* images, const std::int64_t* labels) override {
    const torch::Tensor x =
        torch::from_blob(const_cast<float*>(images), {shape_.batch, 1, shape_.height, shape_.width}, torch::kFloat);
    const torch::Tensor y =
        torch::from_blob(const_cast<std::int64_t*>(labels), {shape_.batch, shape_.height, shape_.width}, torch::kLong);
    optimizer_.zero_grad();
    const torch::Tensor logits = net_->forward(x);
    const torch::Tensor loss =
        torch::nn::functional::cross_entropy(
            logits, y, torch::nn::functional::CrossEntropyFuncOptions().weight(weight_).ignore_index(-100)) +
        dice_loss(logits, y, shape_.classes);
    loss.backward();
    optimizer_.step();
  }

 private:
  UNetStepShape shape_;
  UNet net_;
  torch::optim::AdamW optimizer_;
  torch::Tensor weight_;
};

}  // namespace

std::unique_ptr<UNetStep> make_torch_unet_step(const UNetStepShape& shape, int threads) {
  return std::make_unique<TorchUNetStep>(shape, threads);
}
