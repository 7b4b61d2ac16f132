// LR schedulers against their closed forms at chosen steps, and gradient clipping.
#include <cmath>
#include <limits>
#include <numbers>

#include "helpers.h"
#include "optim/optim.h"

using namespace ember;
using namespace ember::testing;

namespace {

// The lr after each of `steps` scheduler steps (index 0: right after construction).
template <class Make>
std::vector<double> trace(Make make, int steps, double base_lr = 1.0) {
  optim::SGD sgd({zeros({1}).set_requires_grad(true)}, {.lr = base_lr});
  auto scheduler = make(sgd);
  std::vector<double> lrs{sgd.param_groups()[0].lr};
  for (int i = 0; i < steps; ++i) {
    scheduler.step();
    lrs.push_back(sgd.param_groups()[0].lr);
  }
  return lrs;
}

void check_trace(const std::vector<double>& actual, const std::vector<double>& expected) {
  REQUIRE(actual.size() == expected.size());
  for (std::size_t i = 0; i < actual.size(); ++i) {
    INFO("step " << i);
    CHECK(actual[i] == doctest::Approx(expected[i]).epsilon(1e-12));
  }
}

}  // namespace

TEST_CASE("StepLR and MultiStepLR") {
  check_trace(trace([](optim::Optimizer& o) { return optim::StepLR(o, 2, 0.5); }, 5), {1, 1, 0.5, 0.5, 0.25, 0.25});
  check_trace(trace([](optim::Optimizer& o) { return optim::MultiStepLR(o, {1, 3}, 0.1); }, 4), {1, 0.1, 0.1, 0.01, 0.01});
}

TEST_CASE("CosineAnnealingLR reaches eta_min at t_max through the cosine's midpoint") {
  const auto lrs = trace([](optim::Optimizer& o) { return optim::CosineAnnealingLR(o, 4, 0.2); }, 4);
  // Step 2 is half way: (1 + 0.2) / 2. Step 1: 0.2 + 0.8 (1 + cos(pi / 4)) / 2.
  check_trace(lrs, {1, 0.2 + 0.4 * (1 + std::cos(std::numbers::pi / 4)), 0.6,
                    0.2 + 0.4 * (1 + std::cos(3 * std::numbers::pi / 4)), 0.2});
}

TEST_CASE("LinearWarmupCosineLR climbs linearly then anneals") {
  const auto lrs = trace([](optim::Optimizer& o) { return optim::LinearWarmupCosineLR(o, 2, 4); }, 4);
  check_trace(lrs, {0, 0.5, 1, 0.5, 0});
}

TEST_CASE("OneCycleLR: max_lr / 25 up to max_lr at pct_start and down to / 1e4 of the start") {
  const auto lrs = trace([](optim::Optimizer& o) { return optim::OneCycleLR(o, 1.0, 10, {.pct_start = 0.3}); }, 9);
  // The warm phase ends at step 0.3 * 10 - 1 = 2; the last step, 9, is the floor 0.04 / 1e4.
  CHECK(lrs[0] == doctest::Approx(0.04));
  CHECK(lrs[1] == doctest::Approx(0.04 + 0.96 * 0.5));  // half way up the cosine
  CHECK(lrs[2] == doctest::Approx(1.0));
  CHECK(lrs[9] == doctest::Approx(0.04 / 1e4));
}

TEST_CASE("OneCycleLR allows total_steps calls of step(), as PyTorch does, and names the count past them") {
  // One step() per batch of a 10-batch run: 10 calls. PyTorch raises only at the 11th ("Tried to
  // step 11 times"); the 10th extrapolates the cool phase one step past its end.
  optim::SGD sgd({zeros({1}).set_requires_grad(true)}, {.lr = 1.0});
  optim::OneCycleLR one_cycle(sgd, 1.0, 10, {.pct_start = 0.3});
  for (int call = 1; call <= 10; ++call) CHECK_NOTHROW(one_cycle.step());
  // 0.04 / 1e4 + (1 - 0.04 / 1e4) / 2 * (1 + cos(pi * 8 / 7)): pct = (10 - 2) / (9 - 2).
  const double floor = 0.04 / 1e4;
  CHECK(sgd.param_groups()[0].lr == doctest::Approx(floor + (1 - floor) / 2 * (1 + std::cos(std::numbers::pi * 8 / 7))));
  CHECK(contains(error_of([&] { one_cycle.step(); }), "OneCycleLR: tried to step 11 times, more than total_steps 10"));
}

TEST_CASE("OneCycleLR three phases, linear, with momentum cycled against the lr, as PyTorch's") {
  // 10 steps, pct_start 0.3: phases end at steps 2 (up to max_lr), 4 (back to the initial 0.04)
  // and 9 (down to 0.04 / 1e4), each a straight line. Momentum runs 0.95 -> 0.85 -> 0.95, then stays.
  const double initial = 0.04, last = 0.04 / 1e4;
  const std::vector<double> lrs = {initial, 0.52, 1.0, 0.52, initial, initial - 0.2 * (initial - last),
                                   initial - 0.4 * (initial - last), initial - 0.6 * (initial - last),
                                   initial - 0.8 * (initial - last), last};
  const std::vector<double> momenta = {0.95, 0.9, 0.85, 0.9, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95};
  Tensor p = zeros({1}).set_requires_grad(true);
  optim::SGD sgd({p}, {.lr = 1.0, .momentum = 0.9});
  optim::Adam adam({p}, {.lr = 1.0});
  for (optim::Optimizer* optimizer : std::vector<optim::Optimizer*>{&sgd, &adam}) {
    CAPTURE(optimizer->name());
    optim::OneCycleLR one_cycle(*optimizer, 1.0, 10,
                                {.pct_start = 0.3, .anneal_strategy = optim::OneCycleOptions::Anneal::linear,
                                 .three_phase = true});
    for (std::size_t step = 0; step < lrs.size(); ++step) {
      CAPTURE(step);
      const optim::ParamGroup& group = optimizer->param_groups()[0];
      CHECK(group.lr == doctest::Approx(lrs[step]).epsilon(1e-12));
      REQUIRE(group.momentum.has_value());
      CHECK(*group.momentum == doctest::Approx(momenta[step]).epsilon(1e-12));
      one_cycle.step();
    }
  }
  // Two phases (the default) with cosine: momentum at the end of the cool phase is back at 0.95,
  // and half way through it (step 5.5 of 2..9) half way between 0.85 and 0.95.
  optim::OneCycleLR cosine(sgd, 1.0, 10, {.pct_start = 0.3});
  for (int i = 0; i < 9; ++i) cosine.step();
  CHECK(*sgd.param_groups()[0].momentum == doctest::Approx(0.95).epsilon(1e-12));
}

TEST_CASE("OneCycleLR errors: momentum without a momentum, an empty phase") {
  struct Plain : optim::Optimizer {
    explicit Plain(std::vector<optim::ParamGroup> groups) : Optimizer("Plain", std::move(groups)) {}
    void step() override {}
    std::unique_ptr<Optimizer> make_like(std::vector<optim::ParamGroup> groups) const override {
      return std::make_unique<Plain>(std::move(groups));
    }
    void save_param_state(optim::OptimizerState&) const override {}
    void load_param_state(const optim::OptimizerState&) override {}
  };
  Plain plain({{{zeros({1})}, 1.0, 0.0}});
  CHECK(contains(error_of([&] { optim::OneCycleLR(plain, 1.0, 10); }),
                 "OneCycleLR: cycle_momentum needs an optimizer with a momentum or beta1, and Plain has none"));
  CHECK_NOTHROW(optim::OneCycleLR(plain, 1.0, 10, {.cycle_momentum = false}));
  optim::SGD sgd({zeros({1}).set_requires_grad(true)}, {.lr = 1.0});
  CHECK(contains(error_of([&] { optim::OneCycleLR(sgd, 1.0, 10, {.pct_start = 0.1}); }),
                 "OneCycleLR: pct_start 0.1 of 10 steps leaves a phase without steps"));
}

TEST_CASE("ReduceLROnPlateau makes no reduction smaller than eps, like PyTorch") {
  // Halving from 1e-6 on a flat metric: 1e-6 / 2^6 = 1.5625e-8 is the last lr whose halving
  // changes it by more than eps = 1e-8 (by 7.8e-9 it would not), so the lr stays there.
  optim::SGD sgd({zeros({1}).set_requires_grad(true)}, {.lr = 1e-6});
  optim::ReduceLROnPlateau plateau(sgd, optim::ReduceLROnPlateau::Mode::min, 0.5, /*patience=*/0);
  for (int i = 0; i < 30; ++i) plateau.step(1.0);
  CHECK(plateau.last_lr()[0] == 1e-6 / 64);
}

TEST_CASE("ReduceLROnPlateau cuts after patience bad steps and then cools down") {
  optim::SGD sgd({zeros({1}).set_requires_grad(true)}, {.lr = 1.0});
  optim::ReduceLROnPlateau plateau(sgd, optim::ReduceLROnPlateau::Mode::min, 0.5, /*patience=*/1, 1e-4, /*cooldown=*/1);
  std::vector<double> lrs;
  for (double loss : {1.0, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9}) {
    plateau.step(loss);
    lrs.push_back(plateau.last_lr()[0]);
  }
  // Bad steps 1, 2 -> cut at the 4th call; one cooldown step; bad 1, 2 again -> cut at the 7th.
  check_trace(lrs, {1, 1, 1, 0.5, 0.5, 0.5, 0.25});
}

TEST_CASE("ReduceLROnPlateau threshold_mode abs and rel, as PyTorch's") {
  // factor 0.5, patience 0, threshold 0.1. PyTorch 1.13 gives, for min on 10, 9.95, 9.8, 9, 9
  // (max on 10, 10.05, 10.2, 11, 11): rel 1, 0.5, 0.25, 0.125, 0.0625 (no step beats best by
  // 10%); abs 1, 0.5, 0.5, 0.5, 0.25 (9.8 and 9 beat best by more than 0.1, the second 9 not).
  using Plateau = optim::ReduceLROnPlateau;
  for (const Plateau::Mode mode : {Plateau::Mode::min, Plateau::Mode::max}) {
    const std::vector<double> metrics = mode == Plateau::Mode::min ? std::vector<double>{10, 9.95, 9.8, 9, 9}
                                                                    : std::vector<double>{10, 10.05, 10.2, 11, 11};
    for (const Plateau::ThresholdMode threshold_mode : {Plateau::ThresholdMode::rel, Plateau::ThresholdMode::abs}) {
      optim::SGD sgd({zeros({1}).set_requires_grad(true)}, {.lr = 1.0});
      Plateau plateau(sgd, mode, 0.5, /*patience=*/0, /*threshold=*/0.1, /*cooldown=*/0, /*min_lr=*/0, /*eps=*/1e-8,
                      threshold_mode);
      std::vector<double> lrs;
      for (double metric : metrics) {
        plateau.step(metric);
        lrs.push_back(plateau.last_lr()[0]);
      }
      check_trace(lrs, threshold_mode == Plateau::ThresholdMode::rel ? std::vector<double>{1, 0.5, 0.25, 0.125, 0.0625}
                                                                     : std::vector<double>{1, 0.5, 0.5, 0.5, 0.25});
    }
  }
}

TEST_CASE("clip_grad_norm_ with norm_type 1, 3, 0.5 and infinity, as PyTorch's") {
  // Gradients [3, -4] and [12], max_norm 1. PyTorch 1.13's norms: L1 19, L3 (27 + 64 + 1728)^(1/3)
  // = 12.207054953820634, L0.5 51.78460969082653, inf 12; each gradient is then scaled by
  // 1 / (norm + 1e-6).
  for (const auto& [norm_type, expected] : {std::pair{1.0, 19.0}, std::pair{3.0, 12.207054953820634},
                                            std::pair{0.5, 51.78460969082653},
                                            std::pair{std::numeric_limits<double>::infinity(), 12.0}}) {
    CAPTURE(norm_type);
    const Tensor a = from_vector<double>({0, 0}, {}, true), b = from_vector<double>({0}, {}, true);
    (sum(a * from_vector<double>({3, -4})) + sum(b * 12.0)).backward();
    CHECK(optim::clip_grad_norm_({a, b}, 1.0, norm_type).item() == doctest::Approx(expected).epsilon(1e-12));
    const double scale = 1 / (expected + 1e-6);
    check_values(a.grad(), {3 * scale, -4 * scale}, 1e-12);
    check_values(b.grad(), {12 * scale}, 1e-12);
  }
  CHECK(contains(error_of([] { optim::clip_grad_norm_({}, 1.0, 0.0); }), "norm_type must be positive"));
}

TEST_CASE("clip_grad_norm_ scales all gradients together and returns the norm before") {
  Tensor a = from_vector<double>({3}, {}, true), b = from_vector<double>({4}, {}, true);
  sum(a * 3.0 + b * 4.0).backward();  // grads 3 and 4: joint norm 5
  CHECK(optim::clip_grad_norm_({a, b}, 1.0).item() == doctest::Approx(5));
  check_values(a.grad(), {3 / (5 + 1e-6)}, 1e-9);
  check_values(b.grad(), {4 / (5 + 1e-6)}, 1e-9);
  CHECK(optim::clip_grad_norm_({a, b}, 10.0).item() == doctest::Approx(1).epsilon(1e-5));  // below: untouched
  optim::clip_grad_value_({a, b}, 0.7);
  check_values(a.grad(), {0.6}, 1e-5);
  check_values(b.grad(), {0.7}, 1e-12);
}
