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

TEST_CASE("Adam amsgrad divides by the largest second moment so far, as an f64 reference") {
  // Gradients that shrink after the first step with a short second-moment memory (beta2 0.5): v
  // falls, v_max keeps the first step's value, so the later steps are smaller than plain Adam's.
  // Reference: PyTorch's amsgrad rule in double.
  const std::vector<double> grads = {2.0, 0.5, 0.25, 0.125};
  const optim::AdamOptions options{.lr = 0.1, .beta2 = 0.5, .amsgrad = true};
  Tensor p = from_vector<double>({1}, {}, true);
  Tensor plain_p = from_vector<double>({1}, {}, true);
  optim::Adam adam({p}, options);
  optim::Adam plain({plain_p}, optim::AdamOptions{.lr = 0.1, .beta2 = 0.5});
  auto descend = [](Tensor& param, optim::Adam& optimizer, double g) {
    optimizer.zero_grad();
    sum(param * g).backward();
    optimizer.step();
  };
  double ref = 1, m = 0, v = 0, v_max = 0;
  for (std::size_t step = 1; step <= grads.size(); ++step) {
    const double g = grads[step - 1];
    descend(p, adam, g);
    descend(plain_p, plain, g);
    m = 0.9 * m + 0.1 * g;
    v = 0.5 * v + 0.5 * g * g;
    v_max = std::max(v_max, v);
    const double bias2 = std::sqrt(1 - std::pow(0.5, static_cast<double>(step)));
    ref -= 0.1 / (1 - std::pow(0.9, static_cast<double>(step))) * m / (std::sqrt(v_max) / bias2 + 1e-8);
  }
  CHECK(p.item<double>() == doctest::Approx(ref).epsilon(1e-12));
  CHECK(p.item<double>() > plain_p.item<double>() + 1e-3);  // the smaller steps of amsgrad
  // The maxima are saved under PyTorch's key and restored.
  const optim::OptimizerState state = adam.state();
  optim::Adam resumed({p}, options);
  resumed.load_state(state);
  bool saved = false;
  for (const auto& [name, tensor] : state.tensors) saved |= name == "state.0.max_exp_avg_sq";
  CHECK(saved);
}

TEST_CASE("Adam rejects bad hyperparameters") {
  CHECK(contains(error_of([] { optim::Adam({zeros({1})}, {.beta1 = 1.0}); }), "betas must be in [0, 1)"));
  CHECK(contains(error_of([] { optim::Adam({zeros({1})}, {.lr = -1}); }), "invalid learning rate -1"));
}

TEST_CASE("f32 Adam stays within f32 rounding of an f64 reference when beta2 is close to 1") {
  // PyTorch computes 1 - beta2 in double. In f32, 1 - 0.9999f = 1.00017e-4: every v would be
  // 1.7e-4 too large and every update about 8e-5 too small. Reference: the update rule of
  // kernels/optimizer_formulas.h evaluated in double, for gradients g_i = c_i (loss = sum c * p).
  const std::vector<double> c = {0.5, -1.25, 3.0, 1e-3};
  const optim::AdamOptions options{.lr = 1e-3, .beta1 = 0.9, .beta2 = 0.9999, .eps = 1e-8};
  // p starts at 0, so f32 resolves the updates themselves to 6e-8 relative.
  Tensor p = from_vector<float>({0, 0, 0, 0}, {4}, true);
  optim::Adam adam({p}, options);
  const Tensor weights = from_vector<float>({0.5f, -1.25f, 3.0f, 1e-3f}, {4});
  std::vector<double> ref(4, 0.0), m(4, 0.0), v(4, 0.0);
  for (int step = 1; step <= 5; ++step) {
    adam.zero_grad();
    sum(p * weights).backward();
    adam.step();
    for (std::size_t i = 0; i < 4; ++i) {
      const double g = static_cast<double>(static_cast<float>(c[i]));
      m[i] = options.beta1 * m[i] + (1 - options.beta1) * g;
      v[i] = options.beta2 * v[i] + (1 - options.beta2) * g * g;
      const double m_hat = m[i] / (1 - std::pow(options.beta1, step));
      const double v_hat = v[i] / (1 - std::pow(options.beta2, step));
      ref[i] -= options.lr * m_hat / (std::sqrt(v_hat) + options.eps);
    }
  }
  const std::vector<float> got = p.to_vector<float>();
  for (std::size_t i = 0; i < 4; ++i) {
    // f32 rounding of 5 steps gives a few 1e-7 relative at most; 1 - beta2 in f32 gave 8e-5.
    CHECK(std::abs(got[i] - ref[i]) / std::abs(ref[i]) < 2e-6);
  }
}

TEST_CASE("adam_step_ and sgd_step_ name what does not match") {
  const Tensor p = zeros({3}), g = zeros({3}), m = zeros({3}), v = zeros({2});
  const AdamHyper hyper{.lr = 1e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0,
                        .decoupled_weight_decay = false, .step = 1};
  CHECK(contains(error_of([&] { adam_step_({p}, {g}, {m}, {v}, {}, hyper); }),
                 "adam_step_: [2] f32 cpu does not match its parameter [3] f32 cpu"));
  CHECK(contains(error_of([&] { adam_step_({p}, {}, {m}, {v}, {}, hyper); }), "adam_step_: 1 parameters but 0 gradients"));
  CHECK(contains(error_of([&] { adam_step_({p}, {g}, {m}, {v}, {v}, hyper); }),
                 "adam_step_: second-moment maxima given without amsgrad"));
  const SgdHyper sgd{.lr = 0.1, .momentum = 0.9, .dampening = 0, .weight_decay = 0, .nesterov = false,
                     .first_step = true};
  CHECK(contains(error_of([&] { sgd_step_({p}, {g}, {}, sgd); }), "sgd_step_: 1 parameters but 0 momentum buffers"));
  CHECK(contains(error_of([&] { sgd_step_({p.to(DType::f16)}, {g.to(DType::f16)}, {m.to(DType::f16)}, sgd); }),
                 "sgd_step_: expected f32 or f64 tensors (master weights)"));
}

TEST_CASE("local_state_bytes counts the moments an optimizer holds: two per element for Adam, three with amsgrad") {
  // A 3x4 f32 weight and a 5-element f32 bias: 17 elements of 4 bytes. Before the first step
  // there is no state; after it, Adam holds exp_avg and exp_avg_sq (2 * 68 bytes) and amsgrad
  // adds max_exp_avg_sq; SGD with momentum holds one buffer, plain SGD none.
  auto params = [] {
    return std::vector<Tensor>{zeros({3, 4}).set_requires_grad(), zeros({5}).set_requires_grad()};
  };
  auto stepped = [](optim::Optimizer& optimizer, const std::vector<Tensor>& ps) {
    CHECK(optimizer.local_state_bytes() == 0);
    for (const Tensor& p : ps) sum(p * 2.0).backward();
    optimizer.step();
    return optimizer.local_state_bytes();
  };
  const auto a = params(), b = params(), c = params(), d = params();
  optim::Adam adam(a, optim::AdamOptions{});
  optim::Adam amsgrad(b, optim::AdamOptions{.amsgrad = true});
  optim::SGD momentum(c, optim::SGDOptions{.lr = 0.1, .momentum = 0.9});
  optim::SGD plain(d, optim::SGDOptions{.lr = 0.1});
  CHECK(stepped(adam, a) == 2 * 17 * 4);
  CHECK(stepped(amsgrad, b) == 3 * 17 * 4);
  CHECK(stepped(momentum, c) == 17 * 4);
  CHECK(stepped(plain, d) == 0);
}
