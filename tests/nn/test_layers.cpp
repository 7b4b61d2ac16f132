// Dropout, BatchNorm2d, LayerNorm, Embedding and the activation modules.
#include <cmath>

#include "helpers.h"
#include "nn/nn.h"

using namespace ember;
using namespace ember::testing;

TEST_CASE("Dropout zeroes about p of the elements + scales the rest + and is the identity in eval") {
  Generator generator(3);
  nn::Dropout dropout(0.25, generator);
  const Tensor x = ones({100000});
  const Tensor y = dropout(x);
  const double kept = sum(gt(y, 0.0)).item<double>() / 100000;
  CHECK(kept == doctest::Approx(0.75).epsilon(0.01));
  CHECK(max(y).item<double>() == doctest::Approx(1 / 0.75));
  CHECK(mean(y).item<double>() == doctest::Approx(1.0).epsilon(0.01));  // unbiased in expectation
  dropout.eval();
  CHECK(dropout(x).is_same(x));
  // The same seed gives the same mask.
  Generator again(3);
  nn::Dropout replay(0.25, again);
  CHECK(replay(x).to_vector<float>() == y.to_vector<float>());
}

TEST_CASE("BatchNorm2d normalizes per channel and tracks running statistics like PyTorch") {
  nn::BatchNorm2d bn(2, 1e-5, 0.1);
  // Channel 0 holds 1, 2, 3, 4 (mean 2.5, biased var 1.25, unbiased 5/3); channel 1 holds 10s.
  const Tensor x = cat({from_vector<float>({1, 2, 3, 4}, {2, 1, 1, 2}), full({2, 1, 1, 2}, 10)}, 1);
  const Tensor y = bn(x);
  const double s = std::sqrt(1.25 + 1e-5);
  check_values(y.select(1, 0), {-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s}, 1e-5);
  check_values(y.select(1, 1), {0, 0, 0, 0}, 1e-5);
  check_values(bn.running_mean, {0.25, 1.0}, 1e-6);                     // 0.9 * 0 + 0.1 * mean
  check_values(bn.running_var, {0.9 + 0.1 * 5.0 / 3.0, 0.9}, 1e-6);     // with the unbiased var
  CHECK(bn.num_batches_tracked.item<std::int64_t>() == 1);
  bn.eval();
  check_values(bn(x).select(1, 1), std::vector<double>(4, (10 - 1.0) / std::sqrt(0.9 + 1e-5)), 1e-5);
  CHECK(bn.state_dict().size() == 5);
}

TEST_CASE("LayerNorm over the last dim by hand") {
  nn::LayerNorm norm({4});
  const Tensor x = from_vector<float>({1, 2, 3, 4, 2, 2, 2, 2}, {2, 4});
  const double s = std::sqrt(1.25 + 1e-5);
  check_values(norm(x), {-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s, 0, 0, 0, 0}, 1e-5);
  CHECK(contains(error_of([&] { norm(zeros({2, 3})); }), "does not end in normalized_shape [4]"));
}

TEST_CASE("Embedding looks up rows for indices of any shape") {
  nn::Embedding table(5, 3);
  const Tensor out = table(from_vector<std::int64_t>({4, 0, 4, 1}, {2, 2}));
  CHECK(out.sizes() == Shape{2, 2, 3});
  check_values(out.select(0, 0).select(0, 0), table.weight.select(0, 4).to_vector<double>());
  sum(out).backward();
  check_values(table.weight.grad().select(0, 4), {2, 2, 2});  // row 4 was used twice
  check_values(table.weight.grad().select(0, 2), {0, 0, 0});
}

TEST_CASE("Embedding padding_idx: the row starts at zero and gets no gradient") {
  nn::Embedding table(5, 3, -2);  // row 3, counted from the end as in PyTorch
  REQUIRE(table.padding_idx == 3);
  check_values(table.weight.select(0, 3), {0, 0, 0});
  // A padding row the user set keeps its value in the forward pass.
  {
    NoGradGuard no_grad;
    table.weight.select(0, 3).fill_(7);
  }
  const Tensor out = table(from_vector<std::int64_t>({3, 1, 3}));
  check_values(out.select(0, 0), {7, 7, 7});
  sum(out).backward();
  check_values(table.weight.grad().select(0, 3), {0, 0, 0});  // used twice, yet no gradient
  check_values(table.weight.grad().select(0, 1), {1, 1, 1});
  CHECK(contains(error_of([] { nn::Embedding(5, 3, 5); }), "Embedding: padding_idx 5 must be within the 5 embeddings"));
  CHECK(contains(error_of([] { embedding(zeros({5, 3}), from_vector<std::int64_t>({0}), -6); }),
                 "embedding: padding_idx -6 must be within the 5 embeddings"));
}

TEST_CASE("gradcheck: layers in f64") {
  CHECK(gradcheck([](const Inputs& in) { return mul(in[0], sigmoid(in[0])); }, {leaf({2, 3}, 101)}));  // SiLU's formula
  CHECK(gradcheck([](const Inputs& in) {
          nn::BatchNorm2d bn(2);
          return bn(in[0].to(DType::f32)).to(DType::f64);
        }, {leaf({2, 2, 2, 2}, 102)}, {.eps = 1e-3, .atol = 1e-3, .rtol = 1e-2}));
  CHECK(gradcheck([](const Inputs& in) {
          const Tensor mean = ember::mean(in[0], {1}, true);
          const Tensor var = ember::var(in[0], {1}, 0, true);
          return div(sub(in[0], mean), sqrt(add(var, 1e-5)));  // LayerNorm's formula
        }, {leaf({3, 4}, 103)}));
}

TEST_CASE("activation modules apply their functions") {
  const Tensor x = from_vector<float>({-1, 0, 2});
  check_values(nn::SiLU()(x), {-1 / (1 + std::exp(1.0)), 0, 2 / (1 + std::exp(-2.0))}, 1e-6);
  check_values(nn::Tanh()(x), {std::tanh(-1.0), 0, std::tanh(2.0)}, 1e-6);
  check_values(nn::Sigmoid()(x), {1 / (1 + std::exp(1.0)), 0.5, 1 / (1 + std::exp(-2.0))}, 1e-6);
  check_values(nn::GELU()(x), {-0.15865525, 0, 1.95449974}, 1e-6);
  check_values(sum(nn::Softmax(0)(x)), {1}, 1e-6);
}

TEST_CASE("GELU(approximate=tanh) gives PyTorch 1.13's values and gradients") {
  // F.gelu(x, approximate="tanh") and its gradient at these points, in f64, from PyTorch.
  const Tensor x = from_vector<double>({-3, -1, -0.1, 0, 0.5, 2}, {}, true);
  nn::GELU layer(GeluApproximate::tanh);
  const Tensor y = layer(x);
  check_values(y, {-0.0036373920817729943, -0.15880800939172324, -0.04601724895456484, 0.0, 0.34571400982514394,
                   1.954597694087775}, 1e-14);
  sum(y).backward();
  check_values(x.grad(), {-0.011584166630969648, -0.08296408384578252, 0.4204782107282433, 0.5, 0.8673699035346424,
                          1.0860992566236183}, 1e-14);
  // The default stays the exact form, 1.9544997361036416 at x = 2 (PyTorch), 9.8e-5 below the tanh form.
  CHECK(nn::GELU()(x).to_vector<double>()[5] == doctest::Approx(1.9544997361036416).epsilon(1e-14));
}
