// The elementwise family (core/ops/elementwise.h): unary, binary with broadcasting and strided
// operands, comparisons, where, clamp and the in-place forms.
#include "op_table/op_table.h"

namespace ember::op_table {

namespace {

using Args = const std::vector<Tensor>&;

OpCase unary(std::string op, std::function<Tensor(const Tensor&)> f, Values values = Values::normal) {
  return {.op = op,
          .label = "on a strided operand",
          .inputs = {{.shape = {3, 5}, .values = values, .transposed = true}},
          .run = [f](Args x) { return f(x[0]); },
          .perf_inputs = {{.shape = {1 << 24}, .values = values}}};
}

OpCase with_label(OpCase c, std::string label) {
  c.label = std::move(label);
  return c;
}

OpCase binary(std::string op, std::function<Tensor(const Tensor&, const Tensor&)> f,
              Values right = Values::normal) {
  return {.op = op,
          .label = "broadcast [4, 1, 3] with a strided [5, 3]",
          .inputs = {{.shape = {4, 1, 3}}, {.shape = {5, 3}, .values = right, .transposed = true}},
          .run = [f](Args x) { return f(x[0], x[1]); },
          .perf_inputs = {{.shape = {1 << 24}}, {.shape = {1 << 24}, .values = right}}};
}

OpCase comparison(std::string op, std::function<Tensor(const Tensor&, const Tensor&)> f) {
  // Inputs far apart or equal by construction would hide nothing; random normals rarely tie, and
  // the second input compared with itself checks equality.
  return {.op = op,
          .label = "against a broadcast operand and itself",
          .inputs = {{.shape = {4, 3}, .requires_grad = false}, {.shape = {3}, .requires_grad = false}},
          .run = [f](Args x) { return cat({f(x[0], x[1]), f(x[1], x[1]).reshape({1, 3})}); },
          .differentiable = false};
}

}  // namespace

std::vector<OpCase> elementwise_cases() {
  std::vector<OpCase> cases = {
      unary("neg", [](const Tensor& x) { return neg(x); }),
      unary("abs", [](const Tensor& x) { return abs(x); }, Values::away_from_kinks),
      unary("exp", [](const Tensor& x) { return exp(x); }),
      unary("log", [](const Tensor& x) { return log(x); }, Values::positive),
      unary("sqrt", [](const Tensor& x) { return sqrt(x); }, Values::positive),
      unary("relu", [](const Tensor& x) { return relu(x); }, Values::away_from_kinks),
      unary("gelu", [](const Tensor& x) { return gelu(x); }),
      with_label(unary("gelu", [](const Tensor& x) { return gelu(x, GeluApproximate::tanh); }),
                 "approximate=tanh on a strided operand"),
      unary("sigmoid", [](const Tensor& x) { return sigmoid(x); }),
      unary("tanh", [](const Tensor& x) { return tanh(x); }),
      binary("add", [](const Tensor& a, const Tensor& b) { return add(a, b); }),
      binary("sub", [](const Tensor& a, const Tensor& b) { return sub(a, b); }),
      binary("mul", [](const Tensor& a, const Tensor& b) { return mul(a, b); }),
      binary("div", [](const Tensor& a, const Tensor& b) { return div(a, b); }, Values::positive),
      comparison("eq", [](const Tensor& a, const Tensor& b) { return eq(a, b); }),
      comparison("ne", [](const Tensor& a, const Tensor& b) { return ne(a, b); }),
      comparison("lt", [](const Tensor& a, const Tensor& b) { return lt(a, b); }),
      comparison("le", [](const Tensor& a, const Tensor& b) { return le(a, b); }),
      comparison("gt", [](const Tensor& a, const Tensor& b) { return gt(a, b); }),
      comparison("ge", [](const Tensor& a, const Tensor& b) { return ge(a, b); }),
  };
  cases.push_back({.op = "pow",
                   .label = "positive base, tensor and scalar exponents",
                   .inputs = {{.shape = {3, 4}, .values = Values::positive}, {.shape = {4}}},
                   .run = [](Args x) { return pow(x[0], x[1]) + pow(x[0], 1.5); }});
  cases.push_back({.op = "where",
                   .label = "broadcast condition",
                   .inputs = {{.shape = {3, 4}}, {.shape = {3, 4}}, {.shape = {4}, .requires_grad = false}},
                   .run = [](Args x) { return where(gt(x[2], 0.0), x[0], x[1]); }});
  cases.push_back({.op = "clamp",
                   .label = "both bounds",
                   .inputs = {{.shape = {4, 5}, .values = Values::away_from_kinks}},
                   .run = [](Args x) { return clamp(x[0], -1.0, 1.1); },
                   .perf_inputs = {{.shape = {1 << 24}}}});
  cases.push_back({.op = "clamp",
                   .label = "an upper bound only",
                   .inputs = {{.shape = {4, 5}, .values = Values::away_from_kinks}},
                   .run = [](Args x) { return clamp(x[0], std::nullopt, 0.6); }});
  cases.push_back({.op = "add_",
                   .label = "in place, broadcast, with alpha",
                   .inputs = {{.shape = {3, 4}, .requires_grad = false}, {.shape = {4}, .requires_grad = false}},
                   .run = [](Args x) { return add_(x[0], x[1], 2.0); },
                   .differentiable = false,
                   .in_place = true,
                   .perf_inputs = {{.shape = {1 << 24}, .requires_grad = false},
                                   {.shape = {1 << 24}, .requires_grad = false}}});
  cases.push_back({.op = "mul_",
                   .label = "in place by a tensor and by a scalar",
                   .inputs = {{.shape = {3, 4}, .requires_grad = false}, {.shape = {3, 1}, .requires_grad = false}},
                   .run = [](Args x) { return mul_(mul_(x[0], x[1]), -0.5); },
                   .differentiable = false,
                   .in_place = true});
  return cases;
}

}  // namespace ember::op_table
