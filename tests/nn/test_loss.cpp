// Losses: values by hand, PyTorch's weighting and ignore_index rules, gradients, errors.
#include <cmath>

#include "helpers.h"
#include "nn/nn.h"

using namespace ember;
using namespace ember::testing;
using namespace ember::nn::functional;

TEST_CASE("cross_entropy by hand") {
  // Row 0: softmax(0, ln 3) = (1/4, 3/4), target 1 -> -ln(3/4). Row 1: (1/2, 1/2) -> -ln(1/2).
  const Tensor logits = from_vector<double>({0, std::log(3.0), 1, 1}, {2, 2});
  const Tensor target = from_vector<std::int64_t>({1, 0});
  const double row0 = -std::log(0.75), row1 = -std::log(0.5);
  CHECK(cross_entropy(logits, target).item<double>() == doctest::Approx((row0 + row1) / 2).epsilon(1e-12));
  CHECK(cross_entropy(logits, target, {.reduction = Reduction::sum}).item<double>() == doctest::Approx(row0 + row1));
  check_values(cross_entropy(logits, target, {.reduction = Reduction::none}), {row0, row1}, 1e-12);
  // Class weights (2, 5): the mean divides by the weights of the targets, 5 + 2.
  const Tensor weight = from_vector<double>({2, 5});
  CHECK(cross_entropy(logits, target, {.weight = weight}).item<double>() ==
        doctest::Approx((5 * row0 + 2 * row1) / 7).epsilon(1e-12));
  // An ignored target adds nothing and is not counted.
  const Tensor ignoring = from_vector<std::int64_t>({1, -100});
  CHECK(cross_entropy(logits, ignoring).item<double>() == doctest::Approx(row0).epsilon(1e-12));
}

TEST_CASE("cross_entropy with label_smoothing by hand") {
  // Same rows as above: p = (1/4, 3/4) with target 1, p = (1/2, 1/2) with target 0. With s = 0.2
  // and C = 2 the target is 0.9 on the true class and 0.1 on the other.
  const Tensor logits = from_vector<double>({0, std::log(3.0), 1, 1}, {2, 2});
  const Tensor target = from_vector<std::int64_t>({1, 0});
  const double l25 = std::log(0.25), l75 = std::log(0.75), l50 = std::log(0.5);
  const double row0 = -(0.9 * l75 + 0.1 * l25), row1 = -l50;
  CHECK(cross_entropy(logits, target, {.label_smoothing = 0.2}).item<double>() ==
        doctest::Approx((row0 + row1) / 2).epsilon(1e-12));
  // PyTorch weighs the uniform part by the class weights as well, and divides by the same 5 + 2.
  const Tensor weight = from_vector<double>({2, 5});
  const double weighted0 = 0.8 * (-5 * l75) + 0.1 * -(2 * l25 + 5 * l75);
  const double weighted1 = 0.8 * (-2 * l50) + 0.1 * -(7 * l50);
  CHECK(cross_entropy(logits, target, {.weight = weight, .label_smoothing = 0.2}).item<double>() ==
        doctest::Approx((weighted0 + weighted1) / 7).epsilon(1e-12));
  // An ignored row adds no smoothing term either.
  CHECK(cross_entropy(logits, from_vector<std::int64_t>({1, -100}), {.label_smoothing = 0.2}).item<double>() ==
        doctest::Approx(row0).epsilon(1e-12));
}

TEST_CASE("cross_entropy with label_smoothing has gradient (softmax - smoothed target) / N") {
  const Tensor logits = leaf({3, 4}, 79);
  const Tensor target = from_vector<std::int64_t>({2, 0, 3});
  cross_entropy(logits, target, {.label_smoothing = 0.4}).backward();
  const Tensor p = softmax(logits.detach(), 1);
  // Smoothed target: 1 - 0.4 + 0.4 / 4 = 0.7 on the true class, 0.1 elsewhere.
  CHECK(logits.grad().at<double>({0, 2}) == doctest::Approx((p.at<double>({0, 2}) - 0.7) / 3).epsilon(1e-12));
  CHECK(logits.grad().at<double>({0, 1}) == doctest::Approx((p.at<double>({0, 1}) - 0.1) / 3).epsilon(1e-12));
}

TEST_CASE("cross_entropy against class probabilities by hand") {
  // Row 0: p = (1/4, 3/4) against t = (1/2, 1/2); row 1: p = (1/2, 1/2) against t = (1, 0).
  const Tensor logits = from_vector<double>({0, std::log(3.0), 1, 1}, {2, 2});
  const Tensor target = from_vector<double>({0.5, 0.5, 1, 0}, {2, 2});
  const double row0 = -(0.5 * std::log(0.25) + 0.5 * std::log(0.75)), row1 = -std::log(0.5);
  CHECK(cross_entropy(logits, target).item<double>() == doctest::Approx((row0 + row1) / 2).epsilon(1e-12));
  check_values(cross_entropy(logits, target, {.reduction = Reduction::none}), {row0, row1}, 1e-12);
  // Class weights (2, 5) weigh each class's term; the mean still divides by the 2 predictions.
  const double weighted0 = -(0.5 * 2 * std::log(0.25) + 0.5 * 5 * std::log(0.75)), weighted1 = -2 * std::log(0.5);
  CHECK(cross_entropy(logits, target, {.weight = from_vector<double>({2, 5})}).item<double>() ==
        doctest::Approx((weighted0 + weighted1) / 2).epsilon(1e-12));
  // A one-hot probability target is the class-index loss, label smoothing included.
  const Tensor labels = from_vector<std::int64_t>({1, 0});
  const Tensor one_hot = from_vector<double>({0, 1, 1, 0}, {2, 2});
  CHECK(cross_entropy(logits, one_hot, {.label_smoothing = 0.2}).item<double>() ==
        doctest::Approx(cross_entropy(logits, labels, {.label_smoothing = 0.2}).item<double>()).epsilon(1e-12));
  // The gradient for the logits is (softmax - t) / N.
  const Tensor x = logits.detach().set_requires_grad(true);
  cross_entropy(x, target).backward();
  check_values(x.grad(), {(0.25 - 0.5) / 2, (0.75 - 0.5) / 2, (0.5 - 1) / 2, (0.5 - 0) / 2}, 1e-12);
}

TEST_CASE("cross_entropy on [N, C, H, W] segmentation logits equals the flattened rows") {
  Generator generator(4);
  const Tensor logits = randn({2, 3, 2, 2}, {.dtype = DType::f64}, generator);
  const Tensor target = from_vector<std::int64_t>({0, 2, 1, 1, 2, 2, 0, 1}, {2, 2, 2});
  const Tensor rows = logits.permute({0, 2, 3, 1}).reshape({-1, 3});
  CHECK(cross_entropy(logits, target).item<double>() ==
        doctest::Approx(cross_entropy(rows, target.reshape({-1})).item<double>()).epsilon(1e-12));
  CHECK(cross_entropy(logits, target, {.reduction = Reduction::none}).sizes() == Shape{2, 2, 2});
}

TEST_CASE("regression and binary losses by hand") {
  const Tensor x = from_vector<double>({1, -2, 3});
  const Tensor y = from_vector<double>({0, 0, 1});
  CHECK(mse_loss(x, y).item<double>() == doctest::Approx((1 + 4 + 4) / 3.0));
  CHECK(l1_loss(x, y, Reduction::sum).item<double>() == doctest::Approx(1 + 2 + 2));
  // BCE(x, y) = -y log s(x) - (1 - y) log(1 - s(x)), s the sigmoid.
  std::vector<double> expected;
  for (int i = 0; i < 3; ++i) {
    const double s = 1 / (1 + std::exp(-x.at<double>({i}))), t = y.at<double>({i});
    expected.push_back(-t * std::log(s) - (1 - t) * std::log(1 - s));
  }
  check_values(binary_cross_entropy_with_logits(x, y, Reduction::none), expected, 1e-12);
  // Large logits stay finite: a naive log(sigmoid(-1000)) would be -inf.
  CHECK(binary_cross_entropy_with_logits(from_vector<double>({-1000}), from_vector<double>({1})).item<double>() ==
        doctest::Approx(1000));
}

TEST_CASE("binary_cross_entropy_with_logits has the gradient sigmoid(x) - y at a logit of exactly 0") {
  // d/dx BCE(sigmoid(x), y) = sigmoid(x) - y, so 0.5 - y at x = 0 (a zero-initialized output
  // layer's first step), divided by 4 for the mean. Composed from relu and abs, whose
  // derivatives at 0 are taken as 0, the loss gave -y / 4 there.
  const Tensor logits = from_vector<double>({0, 0, 0, 2}, {4}, true);
  const Tensor target = from_vector<double>({0, 1, 0.25, 1});
  binary_cross_entropy_with_logits(logits, target).backward();
  const double s2 = 1 / (1 + std::exp(-2.0));
  check_values(logits.grad(), {0.5 / 4, -0.5 / 4, 0.25 / 4, (s2 - 1) / 4}, 1e-15);
}

TEST_CASE("cross_entropy gradient is (softmax - onehot) / N") {
  const Tensor logits = leaf({4, 5}, 71);
  const Tensor target = from_vector<std::int64_t>({0, 4, 2, 2});
  cross_entropy(logits, target).backward();
  const Tensor p = softmax(logits.detach(), 1);
  CHECK(logits.grad().at<double>({1, 4}) == doctest::Approx((p.at<double>({1, 4}) - 1) / 4));
  CHECK(logits.grad().at<double>({1, 0}) == doctest::Approx(p.at<double>({1, 0}) / 4));
}

TEST_CASE("gradcheck: every loss") {
  const Tensor target = from_vector<std::int64_t>({0, 4, -100, 2});
  const Tensor weight = from_vector<double>({1, 2, 3, 4, 5});
  CHECK(gradcheck([&](const Inputs& in) { return cross_entropy(in[0], target, {.weight = weight}); }, {leaf({4, 5}, 72)}));
  CHECK(gradcheck([&](const Inputs& in) {
          return cross_entropy(in[0], target, {.weight = weight, .reduction = Reduction::sum, .label_smoothing = 0.3});
        }, {leaf({4, 5}, 70)}));
  CHECK(gradcheck([](const Inputs& in) { return cross_entropy(in[0], from_vector<std::int64_t>({1, 0, 2, 2}, {1, 2, 2})); },
                  {leaf({1, 3, 2, 2}, 73)}));
  // Probabilities over the classes of a [N, C, H, W] output: both logits and target get gradients.
  CHECK(gradcheck([&](const Inputs& in) {
          return cross_entropy(in[0], in[1], {.weight = from_vector<double>({1, 2, 3}), .label_smoothing = 0.1});
        }, {leaf({2, 3, 2, 2}, 80), softmax(leaf({2, 3, 2, 2}, 81), 1).detach().set_requires_grad(true)}));
  CHECK(gradcheck([](const Inputs& in) { return mse_loss(in[0], in[1]); }, {leaf({3, 2}, 74), leaf({3, 2}, 75)}));
  CHECK(gradcheck([](const Inputs& in) { return l1_loss(in[0], in[1]); }, {leaf({3, 2}, 76), leaf({3, 2}, 77)}));
  CHECK(gradcheck([](const Inputs& in) { return binary_cross_entropy_with_logits(in[0], in[1]); },
                  {leaf({3, 2}, 78), (rand({3, 2}, {.dtype = DType::f64}))}));
}

TEST_CASE("loss errors") {
  CHECK(contains(error_of([] { cross_entropy(zeros({2, 3}), from_vector<std::int64_t>({0, 3})); }),
                 "softmax_cross_entropy: label 3 is out of range for 3 classes"));
  CHECK(contains(error_of([] { nll_loss(zeros({2, 3}), from_vector<std::int64_t>({-1, 0})); }),
                 "gather: index -1 is out of range for dim 1 of size 3"));
  CHECK(contains(error_of([] { cross_entropy(zeros({2, 3}), from_vector<std::int64_t>({0})); }),
                 "target must be an i64 tensor of shape [2]"));
  CHECK(contains(error_of([] { cross_entropy(zeros({2, 3}), zeros({2})); }),
                 "cross_entropy: a floating target holds class probabilities and must have the logits' shape and "
                 "dtype: logits [2, 3] f32 cpu, target [2] f32 cpu"));
  CHECK(contains(error_of([] { cross_entropy(zeros({2, 3}), zeros({2, 3}), {.ignore_index = 0}); }),
                 "ignore_index 0 is not supported for class-probability targets"));
  CHECK(contains(error_of([] { cross_entropy(zeros({2, 3}), from_vector<std::int64_t>({0, 1}), {.label_smoothing = 1.5}); }),
                 "label_smoothing must be in [0, 1], got 1.5"));
  CHECK(contains(error_of([] { nll_loss(zeros({2, 3}), from_vector<std::int64_t>({0, 1}), {.label_smoothing = 0.1}); }),
                 "label_smoothing applies to cross_entropy only"));
  CHECK(contains(error_of([] { mse_loss(zeros({2, 3}), zeros({3, 2})); }),
                 "mse_loss: input [2, 3] f32 cpu and target [3, 2] f32 cpu must have the same shape"));
}

TEST_CASE("dice_loss by hand, with ignored pixels") {
  // One image of 3 pixels, 2 classes. Logits (0, ln 3) give p = (1/4, 3/4); (0, 0) give (1/2, 1/2).
  const Tensor logits = from_vector<double>({0, 0, 0,  //  class 0 logits of pixels 0, 1, 2
                                             std::log(3.0), 0, std::log(3.0)},
                                            {1, 2, 3});
  const Tensor target = from_vector<std::int64_t>({1, 0, -100}, {1, 3});  // pixel 2 ignored
  // Counted pixels 0 (p = 1/4, 3/4; class 1) and 1 (p = 1/2, 1/2; class 0), smooth 1:
  //   class 0: overlap 1/2, sum p 3/4, sum y 1 -> (2 * 1/2 + 1) / (3/4 + 1 + 1) = 2 / 2.75
  //   class 1: overlap 3/4, sum p 5/4, sum y 1 -> (3/2 + 1) / (5/4 + 1 + 1) = 2.5 / 3.25
  const double expected = 1 - (2 / 2.75 + 2.5 / 3.25) / 2;
  CHECK(dice_loss(logits, target).item<double>() == doctest::Approx(expected).epsilon(1e-12));
  // Without smoothing: class 0 1 / 1.75, class 1 1.5 / 2.25.
  CHECK(dice_loss(logits, target, {.smooth = 0}).item<double>() ==
        doctest::Approx(1 - (1 / 1.75 + 1.5 / 2.25) / 2).epsilon(1e-12));
  // The ignored pixel's logits do not matter: any value gives the same loss.
  const Tensor other = logits.clone();
  other.select(2, 2).fill_(50.0);
  CHECK(dice_loss(other, target).item<double>() == doctest::Approx(expected).epsilon(1e-12));
  // Confident predictions (p = 0 or 1 up to e^-60) of classes 1, 0, 1: right, the loss is 0.
  const Tensor sure = from_vector<double>({-30, 30, -30, 30, -30, 30}, {1, 2, 3});
  CHECK(dice_loss(sure, from_vector<std::int64_t>({1, 0, 1}, {1, 3})).item<double>() ==
        doctest::Approx(0).epsilon(1e-12));
  // Against targets 1, 1, 1: class 0 (0 + 1) / (1 + 0 + 1) = 1/2, class 1 (4 + 1) / (2 + 3 + 1) = 5/6.
  CHECK(dice_loss(sure, from_vector<std::int64_t>({1, 1, 1}, {1, 3})).item<double>() ==
        doctest::Approx(1 - (0.5 + 5.0 / 6) / 2).epsilon(1e-12));
}

TEST_CASE("gradcheck: dice_loss over a batch of images with ignored pixels") {
  const Tensor target = from_vector<std::int64_t>({0, 2, 1, -100, 2, 2, 0, 1, -100, 1, 0, 2}, {2, 2, 3});
  CHECK(gradcheck([&](const Inputs& in) { return dice_loss(in[0], target, {.smooth = 0.5}); },
                  {leaf({2, 3, 2, 3}, 71)}));
}

TEST_CASE("dice_loss errors") {
  CHECK(contains(error_of([] { dice_loss(zeros({3}), zeros({3}, {.dtype = DType::i64})); }),
                 "dice_loss: input must be a floating [N, C] or [N, C, d1, ...] tensor, got [3] f32 cpu"));
  CHECK(contains(error_of([] { dice_loss(zeros({2, 3, 4}), zeros({2, 5}, {.dtype = DType::i64})); }),
                 "dice_loss: target must be an i64 tensor of shape [2, 4]"));
  CHECK(contains(error_of([] { dice_loss(zeros({2, 3}), zeros({2}, {.dtype = DType::i64}), {.smooth = -1}); }),
                 "smooth must be >= 0"));
}

TEST_CASE("binary_cross_entropy_with_logits weight and pos_weight, as PyTorch's") {
  // PyTorch 1.13, f64: logits [[0.5, -1, 0], [2, 0.3, -0.7]], targets [[1, 0, 1], [0, 1, 1]],
  // weight [[1], [2]] (per row, broadcast), pos_weight [3, 0.5, 1] (per class).
  const Tensor x = from_vector<double>({0.5, -1, 0, 2, 0.3, -0.7}, {2, 3}, true);
  const Tensor y = from_vector<double>({1, 0, 1, 0, 1, 1}, {2, 3});
  const nn::functional::BCEWithLogitsOptions options{.weight = from_vector<double>({1, 2}, {2, 1}),
                                                     .pos_weight = from_vector<double>({3, 0.5, 1})};
  auto with = [&](nn::functional::Reduction reduction) {
    nn::functional::BCEWithLogitsOptions o = options;
    o.reduction = reduction;
    return nn::functional::binary_cross_entropy_with_logits(x, y, o);
  };
  check_values(with(nn::functional::Reduction::none),
               {1.42223095254032, 0.3132616875182228, 0.6931471805599453, 4.253856022085945, 0.554355244468527,
                2.206372097770916}, 1e-14);
  const Tensor mean = with(nn::functional::Reduction::mean);
  CHECK(mean.item() == doctest::Approx(1.573870530823979).epsilon(1e-14));
  mean.backward();
  check_values(x.grad(), {-0.18877033439907268, 0.04482357022833252, -0.08333333333333333, 0.29359902599262744,
                          -0.07092624719805683, -0.22272925738938873}, 1e-14);
  CHECK(contains(error_of([&] {
                   nn::functional::binary_cross_entropy_with_logits(x, y, {.pos_weight = from_vector<double>({1, 2})});
                 }),
                 "pos_weight of shape [2] must hold one weight per class (the last dim of the logits [2, 3])"));
}
