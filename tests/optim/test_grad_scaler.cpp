// GradScaler: PyTorch's loss scaling — unscale, inf/NaN skip, backoff and growth, state.
#include "helpers.h"
#include "optim/optim.h"

using namespace ember;
using namespace ember::testing;
using optim::GradScaler;
using optim::GradScalerOptions;

namespace {

// loss = sum(w * x) with w a leaf [3]: d loss / dw = x.
struct Problem {
  Tensor w = from_vector<float>({1, 2, 3}).set_requires_grad(true);
  Tensor x = from_vector<float>({0.5f, -0.25f, 2.0f});
  Tensor loss() const { return sum(mul(w, x)); }
};

}  // namespace

TEST_CASE("GradScaler defaults are PyTorch's and scale multiplies the loss by 2^16") {
  GradScaler scaler;
  CHECK(scaler.get_scale() == 65536.0);
  const auto state = scaler.state();
  CHECK(state.at("growth_factor") == 2.0);
  CHECK(state.at("backoff_factor") == 0.5);
  CHECK(state.at("growth_interval") == 2000.0);
  Problem p;
  CHECK(scaler.scale(p.loss()).item<double>() == p.loss().item<double>() * 65536.0);
}

TEST_CASE("unscale_ divides the gradients back exactly and a clean step updates and counts") {
  Problem p;
  optim::SGD sgd({p.w}, {.lr = 0.5});
  GradScaler scaler({.growth_interval = 3});
  scaler.scale(p.loss()).backward();
  // Backward saw loss * 2^16: the gradient is x * 2^16 (powers of two are exact in f32).
  check_values(p.w.grad(), {0.5 * 65536, -0.25 * 65536, 2.0 * 65536}, 0.0);
  scaler.unscale_(sgd);
  check_values(p.w.grad(), {0.5, -0.25, 2.0}, 0.0);
  CHECK(scaler.step(sgd));
  scaler.update();
  // w - 0.5 x, and the scale is unchanged after one clean step of three.
  check_values(p.w, {0.75, 2.125, 2.0}, 0.0);
  CHECK(scaler.get_scale() == 65536.0);
}

TEST_CASE("an inf gradient skips the step + halves the scale + and leaves weights and optimizer state untouched") {
  Problem p;
  optim::Adam adam({p.w}, {.lr = 0.1});
  GradScaler scaler;
  // A clean step first, so Adam has moments that a wrongly taken step would change.
  scaler.scale(p.loss()).backward();
  scaler.step(adam);
  scaler.update();
  const std::vector<float> weights = p.w.to_vector<float>();
  const optim::OptimizerState before = adam.state();

  adam.zero_grad();
  const Tensor overflow = mul(p.w, from_vector<float>({1, INFINITY, 1}));
  scaler.scale(sum(overflow)).backward();
  CHECK_FALSE(scaler.step(adam));
  CHECK(scaler.found_inf());
  scaler.update();
  CHECK(scaler.get_scale() == 32768.0);
  CHECK(p.w.to_vector<float>() == weights);
  const optim::OptimizerState after = adam.state();
  CHECK(after.scalars == before.scalars);
  for (std::size_t i = 0; i < after.tensors.size(); ++i) {
    CHECK(after.tensors[i].second.to_vector<float>() == before.tensors[i].second.to_vector<float>());
  }
}

TEST_CASE("a NaN gradient is found like an inf") {
  Problem p;
  optim::SGD sgd({p.w}, {.lr = 0.1});
  GradScaler scaler;
  scaler.scale(sum(mul(p.w, from_vector<float>({NAN, 1, 1})))).backward();
  CHECK_FALSE(scaler.step(sgd));
  check_values(p.w, {1, 2, 3}, 0.0);
}

TEST_CASE("the scale grows by growth_factor after growth_interval clean steps and a skip resets the count") {
  Problem p;
  optim::SGD sgd({p.w}, {.lr = 0.0});
  GradScaler scaler({.init_scale = 8.0, .growth_interval = 3});
  auto iteration = [&](bool overflow) {
    sgd.zero_grad();
    const Tensor factor = from_vector<float>({1, overflow ? INFINITY : 1.0f, 1});
    scaler.scale(sum(mul(p.w, factor))).backward();
    scaler.step(sgd);
    scaler.update();
    return scaler.get_scale();
  };
  CHECK(iteration(false) == 8.0);
  CHECK(iteration(false) == 8.0);
  CHECK(iteration(true) == 4.0);   // backoff, and the count of clean steps starts over
  CHECK(iteration(false) == 4.0);
  CHECK(iteration(false) == 4.0);
  CHECK(iteration(false) == 8.0);  // the third clean step in a row grows the scale
  CHECK(scaler.state().at("_growth_tracker") == 0.0);
}

TEST_CASE("scaling keeps an f16 gradient that would underflow without it") {
  // d loss / d w = 1e-4 * 1e-4 = 1e-8, under f16's smallest subnormal (6e-8): computed in f16 it
  // rounds to 0. Scaled by 2^16 it is 6.6e-4 in f16, and unscaling in f32 gives 1e-8 back.
  auto weight_gradient = [](bool scaled) {
    const Tensor w = from_vector<float>({1}).set_requires_grad(true);
    const Tensor x16 = from_vector<float>({1e-4f}).to(DType::f16);
    const Tensor loss = mul(sum(mul(w.to(DType::f16), x16)).to(DType::f32), 1e-4);
    optim::SGD sgd({w}, {.lr = 0.0});
    GradScaler scaler({.enabled = scaled});
    scaler.scale(loss).backward();
    scaler.unscale_(sgd);
    return w.grad().item<double>();
  };
  CHECK(weight_gradient(false) == 0.0);
  CHECK(weight_gradient(true) == doctest::Approx(1e-8).epsilon(2e-3));
}

TEST_CASE("GradScaler refuses a second unscale_ and an update with no step and restores its state") {
  Problem p;
  optim::SGD sgd({p.w}, {.lr = 0.1});
  GradScaler scaler({.init_scale = 1024.0});
  CHECK(contains(error_of([&] { scaler.update(); }), "GradScaler.update: no inf/NaN check was recorded"));
  scaler.scale(p.loss()).backward();
  scaler.unscale_(sgd);
  CHECK(contains(error_of([&] { scaler.unscale_(sgd); }), "GradScaler.unscale_: already called"));
  scaler.step(sgd);
  CHECK(contains(error_of([&] { scaler.step(sgd); }), "GradScaler.step: already called"));
  scaler.update();

  GradScaler restored;
  restored.load_state(scaler.state());
  CHECK(restored.get_scale() == 1024.0);
  CHECK(restored.state() == scaler.state());
  CHECK(contains(error_of([] { GradScaler({.backoff_factor = 1.5}); }), "backoff_factor must be in (0, 1)"));
}

TEST_CASE("a disabled GradScaler passes the loss and the step through") {
  Problem p;
  optim::SGD sgd({p.w}, {.lr = 1.0});
  GradScaler scaler({.enabled = false});
  const Tensor loss = p.loss();
  CHECK(scaler.scale(loss).is_same(loss));
  loss.backward();
  CHECK(scaler.step(sgd));
  scaler.update();
  CHECK(scaler.get_scale() == 1.0);
  check_values(p.w, {0.5, 2.25, 1.0}, 0.0);
}
