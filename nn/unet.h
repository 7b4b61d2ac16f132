#pragma once
// nn::UNet: the encoder-decoder segmenter of Ronneberger et al. (2015), with BatchNorm.
//
//   input [N, in, H, W]
//   down level l (l = 0..depth-1): two (3x3 conv, BatchNorm, ReLU), width base * 2^l; then a
//                                   2x2 max-pool (the block's output is kept as a skip)
//   bottleneck:                     two (3x3 conv, BatchNorm, ReLU), width base * 2^depth
//   up level l (l = depth-1..0):    upsample x2 (a 2x2 stride-2 ConvTranspose2d, or bilinear
//                                   interpolation + 1x1 conv) to width base * 2^l, concatenate
//                                   with skip l, two (3x3 conv, BatchNorm, ReLU)
//   head:                           1x1 conv to `classes` logits [N, classes, H, W]
// H and W must be multiples of 2^depth (pad the input to one: a collate does it per batch).
// Convolutions followed by BatchNorm have no bias (BatchNorm's shift replaces it).
#include <memory>
#include <vector>

#include "nn/module.h"
#include "nn/sequential.h"

namespace ember::nn {

struct UNetOptions {
  std::int64_t in_channels = 1;
  std::int64_t classes = 2;
  std::int64_t base_width = 16;
  std::int64_t depth = 4;  // down levels, each halving H and W
  enum class Upsampling { transposed_conv, bilinear } upsampling = Upsampling::transposed_conv;
};

class UNet : public Module {
 public:
  explicit UNet(const UNetOptions& options = {});
  Tensor forward(const Tensor& input) override;
  std::string type_name() const override { return "UNet"; }
  const UNetOptions& options() const { return options_; }
  // The multiple H and W must be: 2^depth.
  std::int64_t size_multiple() const { return std::int64_t{1} << options_.depth; }

 private:
  UNetOptions options_;
  std::vector<std::shared_ptr<Sequential>> down_;  // "down<l>"
  std::shared_ptr<Sequential> bottleneck_;         // "bottleneck"
  std::vector<std::shared_ptr<Module>> upsample_;  // "upsample<l>"
  std::vector<std::shared_ptr<Sequential>> up_;    // "up<l>"
  std::shared_ptr<Module> head_;                   // "head"
};

}  // namespace ember::nn
