#include "core/ember.h"
#include "nn/nn.h"
#include "optim/optim.h"
#include "unet_step_peer.h"

using namespace ember;

namespace {

class EmberUNetStep : public UNetStep {
 public:
  EmberUNetStep(const UNetStepShape& shape, int threads)
      : shape_(shape),
        net_({.classes = shape.classes, .base_width = shape.base_width}),
        optimizer_(net_.parameters(), {.lr = 1e-3, .weight_decay = 1e-4}),
        weight_(ones({shape.classes})) {
    set_num_threads(threads);
  }
  void run(const float* images, const std::int64_t* labels) override {
    const Tensor x = from_blob(const_cast<float*>(images), {shape_.batch, 1, shape_.height, shape_.width}, DType::f32);
    const Tensor y =
        from_blob(const_cast<std::int64_t*>(labels), {shape_.batch, shape_.height, shape_.width}, DType::i64);
    optimizer_.zero_grad();
    const Tensor logits = net_(x);
    const Tensor loss = nn::functional::cross_entropy(logits, y, {.weight = weight_, .ignore_index = -100}) +
                        nn::functional::dice_loss(logits, y, {.ignore_index = -100});
    loss.backward();
    optimizer_.step();
  }

 private:
  UNetStepShape shape_;
  nn::UNet net_;
  optim::AdamW optimizer_;
  Tensor weight_;
};

}  // namespace

std::unique_ptr<UNetStep> make_ember_unet_step(const UNetStepShape& shape, int threads) {
  return std::make_unique<EmberUNetStep>(shape, threads);
}
