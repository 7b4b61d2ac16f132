// Autocast: which ops run in the lower precision, which in f32, and that gradients reach the f32
// parameters in f32.
#include "helpers.h"
#include "nn/loss.h"

using namespace ember;
using namespace ember::testing;

namespace {

Tensor f32_leaf(const Shape& sizes, std::uint64_t seed) {
  Generator generator(seed);
  return randn(sizes, {}, generator).set_requires_grad(true);
}

}  // namespace

TEST_CASE("under autocast linear runs in f16 and equals linear of the inputs cast by hand") {
  const Tensor x = f32_leaf({4, 3}, 1), w = f32_leaf({5, 3}, 2), b = f32_leaf({5}, 3);
  Tensor out;
  {
    AutocastGuard autocast(DType::f16);
    out = linear(x, w, b);
  }
  CHECK(out.dtype() == DType::f16);
  // The same op outside autocast on inputs cast by hand: autocast is exactly that cast.
  const Tensor by_hand = linear(x.to(DType::f16), w.to(DType::f16), b.to(DType::f16));
  CHECK(out.to_vector<float>() == by_hand.to_vector<float>());
  // Backward reaches the f32 leaves through the casts: their gradients are f32.
  sum(out.to(DType::f32)).backward();
  CHECK(w.grad().dtype() == DType::f32);
  CHECK(x.grad().dtype() == DType::f32);
  // d sum(x W^T + b) / db = the number of rows, exact in f16.
  check_values(b.grad(), std::vector<double>(5, 4.0), 0.0);
}

TEST_CASE("under autocast matmul and conv2d run in bf16 while f64 inputs are left alone") {
  const Tensor a = f32_leaf({2, 3}, 4), b = f32_leaf({3, 2}, 5);
  const Tensor image = f32_leaf({1, 1, 4, 4}, 6), kernel = f32_leaf({2, 1, 3, 3}, 7);
  AutocastGuard autocast(DType::bf16);
  CHECK(autocast_enabled());
  CHECK(autocast_dtype() == DType::bf16);
  CHECK(matmul(a, b).dtype() == DType::bf16);
  CHECK(conv2d(image, kernel, {}, {}).dtype() == DType::bf16);
  // Only f32 is lowered (as in PyTorch): f64 stays f64.
  CHECK(matmul(a.to(DType::f64), b.to(DType::f64)).dtype() == DType::f64);
}

TEST_CASE("under autocast softmax and sums and losses run in f32") {
  const Tensor logits16 = f32_leaf({3, 4}, 8).detach().to(DType::f16);
  const Tensor target = from_vector<std::int64_t>({0, 3, 1});
  {
    AutocastGuard autocast(DType::f16);
    CHECK(softmax(logits16, 1).dtype() == DType::f32);
    CHECK(log_softmax(logits16, 1).dtype() == DType::f32);
    CHECK(sum(logits16).dtype() == DType::f32);
    CHECK(mean(logits16).dtype() == DType::f32);
    CHECK(nn::functional::cross_entropy(logits16, target).dtype() == DType::f32);
    CHECK(nn::functional::mse_loss(logits16, zeros({3, 4})).dtype() == DType::f32);
    // Ops outside both lists keep their input's dtype.
    CHECK(relu(logits16).dtype() == DType::f16);
  }
  // Outside autocast nothing changes dtype.
  CHECK(softmax(logits16, 1).dtype() == DType::f16);
  // f16 -> f32 is exact, so autocast's softmax equals the f32 softmax of the widened input.
  const std::vector<float> expected = softmax(logits16.to(DType::f32), 1).to_vector<float>();
  AutocastGuard autocast(DType::f16);
  CHECK(softmax(logits16, 1).to_vector<float>() == expected);
}

TEST_CASE("backward inside an autocast scope runs each gradient op in its forward dtype") {
  const Tensor x = f32_leaf({2, 3}, 9), w = f32_leaf({4, 3}, 10);
  AutocastGuard autocast(DType::f16);
  const Tensor loss = sum(linear(x, w, {}));  // linear in f16, the sum in f32
  CHECK(loss.dtype() == DType::f32);
  loss.backward();  // would fail on an f16 x f32 product if backward re-applied autocast
  CHECK(w.grad().dtype() == DType::f32);
  // d sum(x W^T) / dW[j, k] = sum_i x[i, k]; f16 rounding of x bounds the error by ~1e-3.
  const std::vector<float> xs = x.to_vector<float>(), grads = w.grad().to_vector<float>();
  for (int j = 0; j < 4; ++j) {
    for (int k = 0; k < 3; ++k) CHECK(grads[j * 3 + k] == doctest::Approx(xs[k] + xs[3 + k]).epsilon(2e-3));
  }
}

TEST_CASE("autocast guards nest and restore the outer scope") {
  CHECK_FALSE(autocast_enabled());
  {
    AutocastGuard outer(DType::bf16);
    {
      AutocastGuard inner(DType::f16, false);
      CHECK_FALSE(autocast_enabled());
    }
    CHECK(autocast_enabled());
    CHECK(autocast_dtype() == DType::bf16);
  }
  CHECK_FALSE(autocast_enabled());
  CHECK(contains(error_of([] { AutocastGuard bad(DType::f64); }), "autocast: the lower precision must be f16 or bf16"));
}

TEST_CASE("under autocast cat and stack join mixed floating dtypes in the widest, and outside they refuse") {
  // A U-Net's skip joint: an f32 skip (BatchNorm runs in f32) beside a bf16 upsampling.
  const Tensor skip = f32_leaf({1, 2, 2, 2}, 11), up = f32_leaf({1, 3, 2, 2}, 12);
  const Tensor up16 = up.to(DType::bf16), up_half = up.to(DType::f16);
  {
    AutocastGuard autocast(DType::bf16);
    const Tensor joined = cat({skip, up16}, 1);
    CHECK(joined.dtype() == DType::f32);
    // The bf16 values are widened exactly; the f32 ones are copied.
    CHECK(joined.slice(1, 0, 2).to_vector<float>() == skip.to_vector<float>());
    CHECK(joined.slice(1, 2, 5).to_vector<float>() == up16.to(DType::f32).to_vector<float>());
    sum(joined).backward();
    CHECK(up.grad().dtype() == DType::f32);  // through the bf16 cast back to the leaf
    check_values(up.grad(), std::vector<double>(12, 1.0), 0.0);
    // f16 with bf16: neither holds the other, so f32 (torch.promote_types); one dtype stays.
    CHECK(stack({up16, up_half}, 0).dtype() == DType::f32);
    CHECK(cat({up16, up16}, 1).dtype() == DType::bf16);
    CHECK(cat({skip.to(DType::f64), skip}, 1).dtype() == DType::f64);
  }
  CHECK(contains(error_of([&] { cat({skip, up16}, 1); }), "cat: dtypes do not match"));
}
