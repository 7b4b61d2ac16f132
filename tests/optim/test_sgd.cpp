// SGD: two steps worked out by hand for each variant.
#include "helpers.h"
#include "optim/optim.h"

using namespace ember;
using namespace ember::testing;

namespace {

// Runs `steps` updates of loss = sum(p * c), whose gradient is c = (0.5, -1) every step.
Tensor run(optim::SGDOptions options, int steps) {
  Tensor p = from_vector<double>({1, 2}, {}, true);
  const Tensor c = from_vector<double>({0.5, -1});
  optim::SGD sgd({p}, options);
  for (int i = 0; i < steps; ++i) {
    sgd.zero_grad();
    sum(p * c).backward();
    sgd.step();
  }
  return p;
}

}  // namespace

TEST_CASE("plain SGD: p -= lr * g") {
  check_values(run({.lr = 0.1}, 2), {1 - 2 * 0.05, 2 + 2 * 0.1}, 1e-12);
}

TEST_CASE("SGD with momentum and weight decay") {
  // Step 1: d = c + 0.1 p = (0.6, -0.8); buf = d; p = (1, 2) - 0.1 (0.6, -0.8) = (0.94, 2.08).
  check_values(run({.lr = 0.1, .momentum = 0.9, .weight_decay = 0.1}, 1), {0.94, 2.08}, 1e-12);
  // Step 2: d = c + 0.1 p = (0.594, -0.792); buf = 0.9 (0.6, -0.8) + d = (1.134, -1.512);
  //         p = (0.94 - 0.1134, 2.08 + 0.1512).
  check_values(run({.lr = 0.1, .momentum = 0.9, .weight_decay = 0.1}, 2), {0.8266, 2.2312}, 1e-12);
}

TEST_CASE("SGD with Nesterov momentum") {
  // Step 1: d = (0.6, -0.8); buf = d; d += 0.9 buf -> (1.14, -1.52); p = (0.886, 2.152).
  // Step 2: d = c + 0.1 p = (0.5886, -0.7848); buf = 0.9 (0.6, -0.8) + d = (1.1286, -1.5048);
  //         d += 0.9 buf -> (1.60434, -2.13912); p = (0.886 - 0.160434, 2.152 + 0.213912).
  check_values(run({.lr = 0.1, .momentum = 0.9, .weight_decay = 0.1, .nesterov = true}, 2), {0.725566, 2.365912}, 1e-12);
}

TEST_CASE("zero_grad sets gradients to none - parameters without gradient are skipped") {
  Tensor p = from_vector<double>({1}, {}, true);
  Tensor unused = from_vector<double>({5}, {}, true);
  optim::SGD sgd({p, unused}, {.lr = 1});
  sum(p * 2.0).backward();
  sgd.step();
  check_values(p, {-1});
  check_values(unused, {5});
  sgd.zero_grad(/*set_to_none=*/false);
  check_values(p.grad(), {0});  // kept, zeroed
  sgd.zero_grad();
  CHECK_FALSE(p.grad().defined());
  CHECK(contains(error_of([] { optim::SGD({zeros({1})}, {.lr = 0.1, .nesterov = true}); }), "nesterov"));
}

TEST_CASE("maximize ascends: SGD, Adam and AdamW against PyTorch 1.13") {
  // Three steps on p = (1, -2, 0.5) of the loss sum(c * p^2), c = (1, 2, 3), with maximize=True;
  // PyTorch's parameters after them (f64): the objective grows, each |p| moves away from 0.
  auto run_three = [](auto make) {
    Tensor p = from_vector<double>({1, -2, 0.5}, {}, true);
    const Tensor c = from_vector<double>({1, 2, 3});
    auto optimizer = make(std::vector<Tensor>{p});
    for (int step = 0; step < 3; ++step) {
      optimizer.zero_grad();
      sum(c * p * p).backward();
      optimizer.step();
    }
    return p;
  };
  check_values(run_three([](std::vector<Tensor> ps) {
                 return optim::SGD(ps, {.lr = 0.1, .momentum = 0.9, .weight_decay = 0.01, .nesterov = true, .maximize = true});
               }),
               {3.2065747365410004, -13.722820823882001, 6.142851963670502}, 1e-12);
  check_values(run_three([](std::vector<Tensor> ps) {
                 return optim::Adam(ps, {.lr = 0.1, .weight_decay = 0.01, .maximize = true});
               }),
               {1.3004900537461845, -2.3003523956680456, 0.800294771875617}, 1e-12);
  check_values(run_three([](std::vector<Tensor> ps) {
                 return optim::AdamW(ps, {.lr = 0.1, .weight_decay = 0.01, .maximize = true});
               }),
               {1.2971920143211155, -2.2940535353509977, 0.7985009670929385}, 1e-12);
}
