// layer_norm and batch_norm: the fused ops against their defining formulas, gradients by
// gradcheck, running statistics by hand, half types against f32, errors.
#include <cmath>

#include "core/autocast.h"
#include "helpers.h"

using namespace ember;
using namespace ember::testing;

namespace {

// The defining formula of both norms, composed of ordinary ops (biased variance over `dims`).
Tensor normalize_reference(const Tensor& x, const Shape& dims, double eps) {
  const Tensor mean = ember::mean(x, dims, true);
  const Tensor var = ember::var(x, dims, /*correction=*/0, true);
  return div(sub(x, mean), sqrt(add(var, eps)));
}

std::vector<double> values_of(const Tensor& t) { return t.to_vector<double>(); }

}  // namespace

TEST_CASE("layer_norm equals its formula in f64 with and without the affine map") {
  const Tensor x = randn({5, 3, 4}, {.dtype = DType::f64});
  const Tensor weight = randn({3, 4}, {.dtype = DType::f64}), bias = randn({3, 4}, {.dtype = DType::f64});
  check_values(layer_norm(x, {4}), values_of(normalize_reference(x, {2}, 1e-5)), 1e-12);
  check_values(layer_norm(x, {3, 4}, weight, bias, 1e-3),
               values_of(add(mul(normalize_reference(x, {1, 2}, 1e-3), weight), bias)), 1e-12);
}

TEST_CASE("gradcheck: layer_norm with respect to input weight and bias") {
  CHECK(gradcheck([](const Inputs& in) { return layer_norm(in[0], {4}, in[1], in[2]); },
                  {leaf({3, 4}, 201), leaf({4}, 202), leaf({4}, 203)}));
  CHECK(gradcheck([](const Inputs& in) { return layer_norm(in[0], {2, 3}); }, {strided_leaf({2, 3}, 204)}));
  // Gradients for the weight alone (the input a constant) too.
  const Tensor constant = randn({3, 5}, {.dtype = DType::f64});
  CHECK(gradcheck([&](const Inputs& in) { return layer_norm(constant, {5}, in[0], in[1]); },
                  {leaf({5}, 205), leaf({5}, 206)}));
}

TEST_CASE("layer_norm in f16 and bf16 follows the f32 result and runs in f32 under autocast") {
  const Tensor x = randn({6, 32});
  const Tensor expected = layer_norm(x, {32});
  for (DType dtype : {DType::f16, DType::bf16}) {
    const Tensor half = layer_norm(x.to(dtype), {32});
    CHECK(half.dtype() == dtype);
    check_values(half, values_of(expected), 2e-2);
    AutocastGuard autocast(dtype);
    CHECK(layer_norm(x.to(dtype), {32}).dtype() == DType::f32);
  }
}

TEST_CASE("batch_norm in training equals its formula and moves the running statistics") {
  const Tensor x = randn({4, 3, 2, 5}, {.dtype = DType::f64});
  const Tensor weight = randn({3}, {.dtype = DType::f64}), bias = randn({3}, {.dtype = DType::f64});
  Tensor running_mean = zeros({3}), running_var = ones({3});
  const Tensor y = batch_norm(x, running_mean, running_var, weight, bias, /*training=*/true, 0.1, 1e-5);
  const Tensor expected = add(mul(normalize_reference(x, {0, 2, 3}, 1e-5), weight.reshape({1, 3, 1, 1})),
                              bias.reshape({1, 3, 1, 1}));
  check_values(y, values_of(expected), 1e-12);
  // 0.9 * old + 0.1 * batch value, with the unbiased variance (40 values per channel).
  const Tensor batch_mean = mean(x, {0, 2, 3}), batch_var = var(x, {0, 2, 3}, /*correction=*/1);
  check_values(running_mean, values_of(mul(batch_mean, 0.1)), 1e-6);
  check_values(running_var, values_of(add(mul(batch_var, 0.1), 0.9)), 1e-6);
  // Evaluation uses the running statistics: (x - rm) / sqrt(rv + eps) * w + b.
  const Tensor eval = batch_norm(x, running_mean, running_var, weight, bias, /*training=*/false, 0.1, 1e-5);
  const Tensor rm = running_mean.to(DType::f64).reshape({1, 3, 1, 1}), rv = running_var.to(DType::f64).reshape({1, 3, 1, 1});
  const Tensor eval_expected =
      add(mul(div(sub(x, rm), sqrt(add(rv, 1e-5))), weight.reshape({1, 3, 1, 1})), bias.reshape({1, 3, 1, 1}));
  check_values(eval, values_of(eval_expected), 1e-6);
}

TEST_CASE("gradcheck: batch_norm in training and in evaluation") {
  CHECK(gradcheck([](const Inputs& in) { return batch_norm(in[0], {}, {}, in[1], in[2], /*training=*/true); },
                  {leaf({3, 2, 2, 3}, 211), leaf({2}, 212), leaf({2}, 213)}));
  CHECK(gradcheck([](const Inputs& in) { return batch_norm(in[0], {}, {}, {}, {}, /*training=*/true); },
                  {leaf({5, 3}, 214)}));  // [N, C]: BatchNorm1d's layout, no affine map
  const Tensor running_mean = randn({2}, {.dtype = DType::f64}), running_var = add(rand({2}, {.dtype = DType::f64}), 0.5);
  CHECK(gradcheck([&](const Inputs& in) {
          return batch_norm(in[0], running_mean, running_var, in[1], in[2], /*training=*/false);
        }, {leaf({3, 2, 4}, 215), leaf({2}, 216), leaf({2}, 217)}));
}

TEST_CASE("batch_norm in bf16 follows f32 and keeps f32 running statistics") {
  const Tensor x = randn({8, 4, 3, 3});
  Tensor mean32 = zeros({4}), var32 = ones({4}), mean16 = zeros({4}), var16 = ones({4});
  const Tensor expected = batch_norm(x, mean32, var32, {}, {}, true);
  const Tensor half = batch_norm(x.to(DType::bf16), mean16, var16, {}, {}, true);
  CHECK(half.dtype() == DType::bf16);
  CHECK(mean16.dtype() == DType::f32);
  check_values(half, values_of(expected), 2e-2);
  check_values(mean16, values_of(mean32), 1e-2);
}

TEST_CASE("normalization errors name the op and the shapes") {
  CHECK(contains(error_of([] { layer_norm(zeros({2, 3}), {4}); }),
                 "layer_norm: input [2, 3] f32 cpu does not end in normalized_shape [4]"));
  CHECK(contains(error_of([] { layer_norm(zeros({2, 3}), {3}, zeros({4})); }), "layer_norm: weight must be a [3]"));
  CHECK(contains(error_of([] { batch_norm(zeros({1, 3}), {}, {}, {}, {}, true); }),
                 "batch_norm: training needs more than one value per channel"));
  CHECK(contains(error_of([] { batch_norm(zeros({2, 3}), {}, {}, {}, {}, false); }),
                 "batch_norm: evaluation needs running_mean and running_var"));
  CHECK(contains(error_of([] { batch_norm(zeros({2, 3}), zeros({2}), ones({2}), {}, {}, true); }),
                 "batch_norm: running statistics must be floating [3] tensors"));
}
