// nn::UNet: the architecture its header describes (shapes, parameters, names) and its errors.
#include "nn/unet.h"

#include "helpers.h"
#include "nn/nn.h"

using namespace ember;
using namespace ember::testing;

namespace {

std::int64_t count_parameters(const nn::Module& module) {
  std::int64_t total = 0;
  for (const Tensor& p : module.parameters()) total += p.numel();
  return total;
}

// Two 3x3 convolutions without bias, each followed by a BatchNorm (weight and bias per channel).
std::int64_t double_conv(std::int64_t in, std::int64_t out) { return 9 * in * out + 2 * out + 9 * out * out + 2 * out; }

}  // namespace

TEST_CASE("UNet maps [N, in, H, W] to [N, classes, H, W] with the parameters of its description") {
  manual_seed(3);
  nn::UNet net({.in_channels = 1, .classes = 3, .base_width = 4, .depth = 2});
  net.eval();
  const Tensor out = net(randn({2, 1, 8, 12}));
  CHECK(out.sizes() == Shape{2, 3, 8, 12});
  // Widths 4, 8 and the bottleneck 16; up levels: a 2x2 transposed conv (with bias) from the
  // level below, then a double conv over the concatenated skip; a 1x1 head with bias.
  const std::int64_t expected = double_conv(1, 4) + double_conv(4, 8) + double_conv(8, 16) +  //
                                (16 * 8 * 4 + 8) + double_conv(16, 8) +                       //
                                (8 * 4 * 4 + 4) + double_conv(8, 4) +                         //
                                (4 * 3 + 3);
  CHECK(count_parameters(net) == expected);
  const nn::StateDict state = net.state_dict();
  CHECK(state.front().first == "down0.0.weight");
  CHECK(state.back().first == "head.bias");
}

TEST_CASE("UNet with bilinear upsampling keeps the shape and trains every parameter") {
  manual_seed(4);
  nn::UNet net({.classes = 2, .base_width = 2, .depth = 3, .upsampling = nn::UNetOptions::Upsampling::bilinear});
  const Tensor out = net(randn({1, 1, 16, 24}));
  CHECK(out.sizes() == Shape{1, 2, 16, 24});
  sum(out * out).backward();
  for (const auto& [name, p] : net.named_parameters()) {
    INFO(name);
    REQUIRE(p.grad().defined());
    CHECK(sum(abs(p.grad())).item<double>() > 0);
  }
}

TEST_CASE("UNet under bf16 autocast: the skip joints take the f32 skip and the bf16 upsampling, every parameter trains") {
  // The joints concatenate a BatchNorm output (f32 under autocast) with a transposed
  // convolution's (bf16): autocast's cat widens them to f32 (it raised a dtype error before).
  manual_seed(5);
  nn::UNet net({.classes = 2, .base_width = 2, .depth = 2});
  Tensor out;
  {
    AutocastGuard autocast(DType::bf16);
    out = net(randn({1, 1, 8, 12}));
  }
  CHECK(out.sizes() == Shape{1, 2, 8, 12});
  CHECK(out.dtype() == DType::bf16);  // the 1x1 head is a convolution: bf16
  sum(out.to(DType::f32)).backward();
  for (const auto& [name, p] : net.named_parameters()) {
    INFO(name);
    REQUIRE(p.grad().defined());
    CHECK(p.grad().dtype() == DType::f32);  // the f32 master weights
  }
}

TEST_CASE("UNet errors name the shape it needs") {
  nn::UNet net({.base_width = 2});
  CHECK(contains(error_of([&] {
                   net(zeros({1, 1, 20, 32}));
                 }),
                 "expected input [N, 1, H, W] with H and W multiples of 16 (depth 4), got [1, 1, 20, 32]"));
  CHECK(contains(error_of([] { nn::UNet({.depth = 0}); }), "depth must be between 1 and 8"));
  CHECK(contains(error_of([] { nn::UNet({.classes = 0}); }), "must be positive"));
}
