#include "nn/unet.h"

#include "core/ops/join.h"
#include "core/ops/pool.h"
#include "nn/activation.h"
#include "nn/conv.h"
#include "nn/normalization.h"
#include "nn/upsample.h"

namespace ember::nn {

namespace {

using std::make_shared;

// (3x3 conv without bias, BatchNorm, ReLU) twice: every level's block.
std::shared_ptr<Sequential> double_conv(std::int64_t in, std::int64_t out) {
  const Conv2dParams same{.padding = {1, 1}};
  return make_shared<Sequential>(std::initializer_list<std::shared_ptr<Module>>{
      make_shared<Conv2d>(in, out, std::array<std::int64_t, 2>{3, 3}, same, /*bias=*/false),
      make_shared<BatchNorm2d>(out), make_shared<ReLU>(),
      make_shared<Conv2d>(out, out, std::array<std::int64_t, 2>{3, 3}, same, /*bias=*/false),
      make_shared<BatchNorm2d>(out), make_shared<ReLU>()});
}

// Doubles H and W and maps `in` channels to `out`.
std::shared_ptr<Module> upsampler(UNetOptions::Upsampling kind, std::int64_t in, std::int64_t out) {
  if (kind == UNetOptions::Upsampling::transposed_conv) {
    return make_shared<ConvTranspose2d>(in, out, std::array<std::int64_t, 2>{2, 2},
                                        ConvTranspose2dParams{.stride = {2, 2}});
  }
  return make_shared<Sequential>(std::initializer_list<std::shared_ptr<Module>>{
      make_shared<Upsample>(InterpolateOptions{.scale_factor = {2.0, 2.0}, .mode = InterpolateMode::bilinear}),
      make_shared<Conv2d>(in, out, std::array<std::int64_t, 2>{1, 1})});
}

}  // namespace

UNet::UNet(const UNetOptions& options) : options_(options) {
  EMBER_CHECK(options.in_channels > 0 && options.classes > 0 && options.base_width > 0, "UNet: in_channels ",
              options.in_channels, ", classes ", options.classes, " and base_width ", options.base_width,
              " must be positive");
  EMBER_CHECK(options.depth >= 1 && options.depth <= 8, "UNet: depth must be between 1 and 8, got ", options.depth);
  auto width = [&](std::int64_t level) { return options.base_width << level; };
  for (std::int64_t level = 0; level < options.depth; ++level) {
    const std::int64_t in = level == 0 ? options.in_channels : width(level - 1);
    down_.push_back(register_module("down" + std::to_string(level), double_conv(in, width(level))));
  }
  bottleneck_ = register_module("bottleneck", double_conv(width(options.depth - 1), width(options.depth)));
  for (std::int64_t level = 0; level < options.depth; ++level) {
    upsample_.push_back(register_module("upsample" + std::to_string(level),
                                        upsampler(options.upsampling, width(level + 1), width(level))));
    up_.push_back(register_module("up" + std::to_string(level), double_conv(2 * width(level), width(level))));
  }
  head_ = register_module("head",
                          make_shared<Conv2d>(options.base_width, options.classes, std::array<std::int64_t, 2>{1, 1}));
}

Tensor UNet::forward(const Tensor& input) {
  const std::int64_t multiple = size_multiple();
  EMBER_CHECK(input.dim() == 4 && input.size(1) == options_.in_channels && input.size(2) % multiple == 0 &&
                  input.size(3) % multiple == 0,
              "UNet: expected input [N, ", options_.in_channels, ", H, W] with H and W multiples of ", multiple,
              " (depth ", options_.depth, "), got ", describe(input));
  std::vector<Tensor> skips;
  Tensor x = input;
  for (const auto& block : down_) {
    x = (*block)(x);
    skips.push_back(x);
    x = max_pool2d(x, {.kernel = {2, 2}});
  }
  x = (*bottleneck_)(x);
  for (std::int64_t level = options_.depth - 1; level >= 0; --level) {
    const auto l = static_cast<std::size_t>(level);
    x = (*up_[l])(cat({skips[l], (*upsample_[l])(x)}, 1));
  }
  return (*head_)(x);
}

}  // namespace ember::nn
