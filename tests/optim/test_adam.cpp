// Adam and AdamW against updates worked out by hand.
#include "helpers.h"
#include "optim/optim.h"

using namespace ember;
using namespace ember::testing;

namespace {

// loss = 0.5 * p: the gradient is 0.5 every step (plus weight decay where the optimizer adds it).
template <class Optimizer, class Options>
double run(Options options, int steps) {
  Tensor p = from_vector<float>({1}, {}, true);
  Optimizer optimizer({p}, options);
  for (int i = 0; i < steps; ++i) {
    optimizer.zero_grad();
    sum(p * 0.5).backward();
    optimizer.step();
  }
  return p.item<double>();
}

}  // namespace

TEST_CASE("Adam with a constant gradient moves exactly lr per step") {
  // m_t / (1 - b1^t) = g and sqrt(v_t / (1 - b2^t)) = |g| for a constant g, so each step is
  // lr * g / |g| (up to eps): 1 -> 0.9 -> 0.8 -> 0.7.
  CHECK(run<optim::Adam>(optim::AdamOptions{.lr = 0.1}, 1) == doctest::Approx(0.9).epsilon(1e-6));
  CHECK(run<optim::Adam>(optim::AdamOptions{.lr = 0.1}, 3) == doctest::Approx(0.7).epsilon(1e-5));  // f32
}

TEST_CASE("Adam's L2 weight decay enters the moments") {
  // Step 1: g = 0.5 + 0.1 * 1 = 0.6 -> p = 0.9. Step 2: g = 0.59; m = 0.113, v = 7.0774e-4;
  // p = 0.9 - 0.1 * (0.113 / 0.19) / sqrt(7.0774e-4 / 0.001999) = 0.80004734.
  CHECK(run<optim::Adam>(optim::AdamOptions{.lr = 0.1, .weight_decay = 0.1}, 2) ==
        doctest::Approx(0.8000473405).epsilon(1e-6));
}

TEST_CASE("AdamW decays the weight directly with default weight_decay 0.01") {
  // Step 1: p = 1 * (1 - 0.1 * 0.1) - 0.1 = 0.89. Step 2: p = 0.89 * 0.99 - 0.1 = 0.7811.
  CHECK(run<optim::AdamW>(optim::AdamWOptions{.lr = 0.1, .weight_decay = 0.1}, 2) == doctest::Approx(0.7811).epsilon(1e-6));
  CHECK(optim::AdamWOptions{}.weight_decay == 0.01);
  // With the default decay: 1 * (1 - 0.001) - 0.1.
  CHECK(run<optim::AdamW>(optim::AdamWOptions{.lr = 0.1}, 1) == doctest::Approx(0.899).epsilon(1e-6));
}

TEST_CASE("Adam rejects bad hyperparameters") {
  CHECK(contains(error_of([] { optim::Adam({zeros({1})}, {.beta1 = 1.0}); }), "betas must be in [0, 1)"));
  CHECK(contains(error_of([] { optim::Adam({zeros({1})}, {.lr = -1}); }), "invalid learning rate -1"));
}
