// The autograd engine: accumulation, graph lifetime, grad mode, in-place safety, hooks.
#include "helpers.h"

using namespace ember;
using namespace ember::testing;

TEST_CASE("gradients of a small graph worked out by hand") {
  // y = sum(x * x + 3x) -> dy/dx = 2x + 3
  Tensor x = from_vector<double>({1, -2, 0.5}, {}, true);
  Tensor y = sum(x * x + x * 3.0);
  y.backward();
  check_values(x.grad(), {5, -1, 4});
  CHECK(x.is_leaf());
  CHECK_FALSE(y.is_leaf());
  CHECK(y.grad_fn()->name() == "sum");
}

TEST_CASE("a tensor used twice receives the sum of both paths (diamond graph)") {
  // z = a * b with a = 2x and b = x + 1 -> dz/dx = 2(x + 1) + 2x = 4x + 2
  Tensor x = from_vector<double>({3}, {}, true);
  Tensor z = (x * 2.0) * (x + 1.0);
  z.backward();
  check_values(x.grad(), {14});
}

TEST_CASE("gradients accumulate across backward calls until reset") {
  Tensor x = from_vector<double>({1, 2}, {}, true);
  sum(x * 2.0).backward();
  sum(x * 3.0).backward();
  check_values(x.grad(), {5, 5});
  x.reset_grad();
  CHECK_FALSE(x.grad().defined());
}

TEST_CASE("the graph is freed after backward unless retain_graph") {
  Tensor x = from_vector<double>({1, 2}, {}, true);
  Tensor y = sum(exp(x));
  y.backward(Tensor(), /*retain_graph=*/true);
  y.backward();  // allowed: the first call kept the graph
  check_values(x.grad(), {2 * std::exp(1.0), 2 * std::exp(2.0)}, 1e-12);
  CHECK(contains(error_of([&] { y.backward(); }), "backward through the graph a second time"));
}

TEST_CASE("NoGradGuard records nothing and restores the previous mode") {
  Tensor x = from_vector<double>({1}, {}, true);
  {
    NoGradGuard guard;
    CHECK_FALSE(GradMode::is_enabled());
    CHECK_FALSE((x * 2.0).requires_grad());
  }
  CHECK(GradMode::is_enabled());
  CHECK((x * 2.0).requires_grad());
  CHECK(contains(error_of([] { zeros({1}).backward(); }), "does not require grad"));
}

TEST_CASE("modifying a saved tensor in place is an error at backward and never a wrong gradient") {
  Tensor x = from_vector<double>({1, 2}, {}, true);
  Tensor h = x * 1.0;
  Tensor y = sum(exp(h));  // exp saves its output...
  Tensor out = exp(h);
  Tensor z = sum(out * out);  // ...and mul saves both operands
  out.mul_(2.0);              // version 0 -> 1
  const std::string message = error_of([&] { z.backward(); });
  CHECK(contains(message, "modified by an in-place operation"));
  CHECK(contains(message, "at version 1, it was saved at version 0"));
  y.backward();  // untouched graph still works
  check_values(x.grad(), {std::exp(1.0), std::exp(2.0)}, 1e-12);
}

TEST_CASE("in-place rules: leaves that require grad and views are refused while grad mode is on") {
  Tensor w = from_vector<double>({1, 2}, {}, true);
  CHECK(contains(error_of([&] { w.add_(ones({2}, {.dtype = DType::f64})); }),
                 "a leaf tensor that requires grad ([2] f64 cpu) cannot be modified in place"));
  {
    NoGradGuard guard;  // the optimizer's way
    w.add_(ones({2}, {.dtype = DType::f64}));
  }
  check_values(w, {2, 3});
  Tensor h = w * 1.0;
  CHECK(contains(error_of([&] { h.select(0, 0).mul_(2.0); }), "in-place writes through a view"));
}

TEST_CASE("detach shares data but not history - requires_grad only on floating leaves") {
  Tensor x = from_vector<double>({1, 2}, {}, true);
  Tensor y = x * 2.0;
  Tensor d = y.detach();
  CHECK_FALSE(d.requires_grad());
  CHECK(d.storage() == y.storage());
  CHECK(contains(error_of([&] { y.set_requires_grad(false); }), "only leaf tensors"));
  CHECK(contains(error_of([] { zeros({2}, {.dtype = DType::i64}).set_requires_grad(true); }),
                 "only floating tensors can require grad"));
}

TEST_CASE("post-accumulate hooks fire once per backward with the final gradient") {
  Tensor x = from_vector<double>({1, 2}, {}, true);
  std::vector<double> seen;
  x.register_post_accumulate_grad_hook([&](const Tensor& leaf) { seen.push_back(leaf.grad().at<double>({0})); });
  // x feeds two paths; the hook must see their sum (2 + 3), not a partial gradient.
  sum(x * 2.0 + x * 3.0).backward();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0] == 5);
}

TEST_CASE("a leaf's gradient is accumulated as soon as it is final, before older ops' backward") {
  // loss = sum(w2 * (w1 * x)): once the outer product's backward ran, w2's gradient is final and
  // its hook (where DDP starts a bucket's all-reduce) must fire before the inner product's
  // backward, which produces x's gradient. A leaf's accumulator is made once and reused while any
  // graph holds it: keeping the first graph alive gives w1's and w2's accumulators older sequence
  // numbers than every op of the second graph, so newest-first order alone would run them last.
  const Tensor w1 = from_vector<double>({2}, {}, true);
  const Tensor w2 = from_vector<double>({3}, {}, true);
  const Tensor first_graph = sum(w2 * (w1 * from_vector<double>({1}, {}, true)));
  const Tensor x = from_vector<double>({5}, {}, true);
  bool x_grad_ready_at_w2_hook = true;
  w2.register_post_accumulate_grad_hook([&](const Tensor&) { x_grad_ready_at_w2_hook = x.grad().defined(); });
  sum(w2 * (w1 * x)).backward();
  CHECK_FALSE(x_grad_ready_at_w2_hook);
  // The gradients themselves: d/dw2 = w1 x = 10, d/dw1 = w2 x = 15, d/dx = w1 w2 = 6.
  CHECK(w2.grad().at<double>({0}) == 10);
  CHECK(w1.grad().at<double>({0}) == 15);
  CHECK(x.grad().at<double>({0}) == 6);
}

TEST_CASE("a removed post-accumulate hook no longer fires") {
  Tensor x = from_vector<double>({1}, {}, true);
  int calls = 0;
  const std::uint64_t handle = x.register_post_accumulate_grad_hook([&](const Tensor&) { ++calls; });
  sum(x * 2.0).backward();
  x.remove_post_accumulate_grad_hook(handle);
  sum(x * 2.0).backward();
  CHECK(calls == 1);  // the first backward only
}

TEST_CASE("a queued backward callback runs once, after every leaf gradient is final") {
  Tensor a = from_vector<double>({1}, {}, true);
  Tensor b = from_vector<double>({2}, {}, true);
  std::vector<std::string> order;
  a.register_post_accumulate_grad_hook([&](const Tensor&) {
    order.push_back("a");
    queue_backward_callback([&] {
      // By now both leaves hold their final gradients: d(3ab)/da = 3b = 6, d/db = 3a = 3.
      order.push_back("callback");
      CHECK(a.grad().at<double>({0}) == 6);
      CHECK(b.grad().at<double>({0}) == 3);
    });
  });
  b.register_post_accumulate_grad_hook([&](const Tensor&) { order.push_back("b"); });
  sum(a * b * 3.0).backward();
  REQUIRE(order.size() == 3);
  CHECK(order.back() == "callback");
  CHECK(contains(error_of([] { queue_backward_callback([] {}); }), "no backward pass is running"));
}

TEST_CASE("engine runs a long chain and a non-scalar root with an explicit gradient") {
  Tensor x = from_vector<double>({1, 2}, {}, true);
  Tensor y = x;
  for (int i = 0; i < 200; ++i) y = y * 1.01;
  y.backward(from_vector<double>({1, 0}));
  check_values(x.grad(), {std::pow(1.01, 200), 0}, 1e-10);
  CHECK(contains(error_of([&] { (x * 2.0).backward(); }), "grad can be implicitly created only for one-element"));
}

TEST_CASE("gradcheck notices a wrong gradient") {
  // f(x) = x * detach(x): the true derivative is 2x, autograd sees only x.
  const std::string message = error_of([] {
    gradcheck([](const Inputs& in) { return in[0] * in[0].detach(); }, {leaf({3}, 61)});
  });
  CHECK(contains(message, "gradcheck: Jacobian mismatch for input 0"));
}
