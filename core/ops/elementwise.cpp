#include "core/ops/elementwise.h"

#include "core/ops/factory.h"
#include "core/ops/in_place.h"
#include "core/ops/op_utils.h"
#include "core/ops/reduction.h"
#include "kernels/elementwise.h"

namespace ember {

using detail::needs_grad;
using detail::operand;
using detail::sum_to;
using kernels::BinaryOp;
using kernels::CompareOp;
using kernels::UnaryOp;
using Grads = std::vector<Tensor>;

namespace {

Tensor scalar_like(double value, const Tensor& like) {
  return scalar_tensor(value, {.dtype = like.dtype(), .device = like.device()});
}

// The checks, broadcast and kernel call shared by every binary op (no autograd).
Tensor binary_forward(const char* op, BinaryOp kind, const Tensor& a, const Tensor& b) {
  const Device device = detail::common_device(op, {&a, &b});
  detail::check_same_dtype(op, a, b);
  const Shape sizes = broadcast_shapes(op, a.sizes(), b.sizes());
  Tensor out = empty(sizes, {.dtype = a.dtype(), .device = device});
  EMBER_KERNEL(op, device, binary, kind, a.dtype(), sizes, operand(out), operand(a, sizes), operand(b, sizes));
  return out;
}

Tensor unary_forward(const char* op, UnaryOp kind, const Tensor& input) {
  const Device device = detail::common_device(op, {&input});
  Tensor out = empty_like(input);
  EMBER_KERNEL(op, device, unary, kind, input.dtype(), input.sizes(), operand(out), operand(input));
  return out;
}

Tensor compare(const char* op, CompareOp kind, const Tensor& a, const Tensor& b) {
  const Device device = detail::common_device(op, {&a, &b});
  detail::check_same_dtype(op, a, b);
  const Shape sizes = broadcast_shapes(op, a.sizes(), b.sizes());
  Tensor out = empty(sizes, {.dtype = DType::b8, .device = device});
  EMBER_KERNEL(op, device, compare, kind, a.dtype(), sizes, operand(out), operand(a, sizes), operand(b, sizes));
  return out;
}

// 1 where x > 0, -1 where x < 0, 0 elsewhere, in x's dtype.
Tensor sign(const Tensor& x) { return to(gt(x, 0.0), x.dtype()) - to(lt(x, 0.0), x.dtype()); }

}  // namespace

Tensor add(const Tensor& a, const Tensor& b, double alpha) {
  const Tensor scaled_b = alpha == 1.0 ? b : mul(b, alpha);
  Tensor out = binary_forward("add", BinaryOp::add, a, scaled_b);
  if (needs_grad(a, scaled_b)) {
    record_op("add", out, {a, scaled_b}, [sa = a.sizes(), sb = scaled_b.sizes()](const Tensor& g, const Node& n) {
      return Grads{n.needs_input_grad(0) ? sum_to(g, sa) : Tensor(), n.needs_input_grad(1) ? sum_to(g, sb) : Tensor()};
    });
  }
  return out;
}

Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward("sub", BinaryOp::sub, a, b);
  if (needs_grad(a, b)) {
    record_op("sub", out, {a, b}, [sa = a.sizes(), sb = b.sizes()](const Tensor& g, const Node& n) {
      return Grads{n.needs_input_grad(0) ? sum_to(g, sa) : Tensor(), n.needs_input_grad(1) ? sum_to(neg(g), sb) : Tensor()};
    });
  }
  return out;
}

Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward("mul", BinaryOp::mul, a, b);
  if (needs_grad(a, b)) {
    // Each input's gradient needs only the other input.
    const SavedTensor saved_a = b.requires_grad() ? SavedTensor(a) : SavedTensor();
    const SavedTensor saved_b = a.requires_grad() ? SavedTensor(b) : SavedTensor();
    record_op("mul", out, {a, b}, [saved_a, saved_b, sa = a.sizes(), sb = b.sizes()](const Tensor& g, const Node& n) {
      return Grads{n.needs_input_grad(0) ? sum_to(g * saved_b.get(), sa) : Tensor(),
                   n.needs_input_grad(1) ? sum_to(g * saved_a.get(), sb) : Tensor()};
    });
  }
  return out;
}

Tensor div(const Tensor& a, const Tensor& b) {
  if (b.defined() && !is_floating(b.dtype())) {
    EMBER_CHECK(sum(to(eq(b, 0.0), DType::i64)).item<std::int64_t>() == 0, "div: integer division by zero (divisor ",
                describe(b), ")");
  }
  Tensor out = binary_forward("div", BinaryOp::div, a, b);
  if (needs_grad(a, b)) {
    record_op("div", out, {a, b}, [saved_a = SavedTensor(a), saved_b = SavedTensor(b), sa = a.sizes(),
                                    sb = b.sizes()](const Tensor& g, const Node& n) {
      const Tensor& b_value = saved_b.get();
      // d(a / b)/da = 1 / b;  d(a / b)/db = -a / b^2
      Tensor grad_a = n.needs_input_grad(0) ? sum_to(g / b_value, sa) : Tensor();
      Tensor grad_b = n.needs_input_grad(1) ? sum_to(-(g * saved_a.get()) / (b_value * b_value), sb) : Tensor();
      return Grads{grad_a, grad_b};
    });
  }
  return out;
}

Tensor pow(const Tensor& base, const Tensor& exponent) {
  Tensor out = binary_forward("pow", BinaryOp::pow, base, exponent);
  if (needs_grad(base, exponent)) {
    record_op("pow", out, {base, exponent}, [saved_base = SavedTensor(base), saved_exp = SavedTensor(exponent),
                                              saved_out = SavedTensor(out), sa = base.sizes(),
                                              sb = exponent.sizes()](const Tensor& g, const Node& n) {
      const Tensor& x = saved_base.get();
      const Tensor& y = saved_exp.get();
      // d/dx x^y = y * x^(y-1);  d/dy x^y = x^y * log(x)
      Tensor grad_base = n.needs_input_grad(0) ? sum_to(g * y * pow(x, y - 1.0), sa) : Tensor();
      Tensor grad_exp = n.needs_input_grad(1) ? sum_to(g * saved_out.get() * log(x), sb) : Tensor();
      return Grads{grad_base, grad_exp};
    });
  }
  return out;
}

Tensor pow(const Tensor& base, double exponent) { return pow(base, scalar_like(exponent, base)); }
Tensor add(const Tensor& a, double b) { return add(a, scalar_like(b, a)); }
Tensor sub(const Tensor& a, double b) { return sub(a, scalar_like(b, a)); }
Tensor mul(const Tensor& a, double b) { return mul(a, scalar_like(b, a)); }
Tensor div(const Tensor& a, double b) { return div(a, scalar_like(b, a)); }
Tensor operator-(double a, const Tensor& b) { return sub(scalar_like(a, b), b); }
Tensor operator/(double a, const Tensor& b) { return div(scalar_like(a, b), b); }

Tensor neg(const Tensor& input) {
  Tensor out = unary_forward("neg", UnaryOp::neg, input);
  if (needs_grad(input)) {
    record_op("neg", out, {input}, [](const Tensor& g, const Node&) { return Grads{neg(g)}; });
  }
  return out;
}

Tensor exp(const Tensor& input) {
  Tensor out = unary_forward("exp", UnaryOp::exp, input);
  if (needs_grad(input)) {
    record_op("exp", out, {input}, [saved_out = SavedTensor(out)](const Tensor& g, const Node&) {
      return Grads{g * saved_out.get()};
    });
  }
  return out;
}

Tensor log(const Tensor& input) {
  Tensor out = unary_forward("log", UnaryOp::log, input);
  if (needs_grad(input)) {
    record_op("log", out, {input}, [saved = SavedTensor(input)](const Tensor& g, const Node&) {
      return Grads{g / saved.get()};
    });
  }
  return out;
}

Tensor sqrt(const Tensor& input) {
  Tensor out = unary_forward("sqrt", UnaryOp::sqrt, input);
  if (needs_grad(input)) {
    record_op("sqrt", out, {input}, [saved_out = SavedTensor(out)](const Tensor& g, const Node&) {
      return Grads{g / (2.0 * saved_out.get())};
    });
  }
  return out;
}

Tensor abs(const Tensor& input) {
  Tensor out = unary_forward("abs", UnaryOp::abs, input);
  if (needs_grad(input)) {
    record_op("abs", out, {input}, [saved = SavedTensor(input)](const Tensor& g, const Node&) {
      return Grads{g * sign(saved.get())};
    });
  }
  return out;
}

Tensor relu(const Tensor& input) {
  Tensor out = unary_forward("relu", UnaryOp::relu, input);
  if (needs_grad(input)) {
    record_op("relu", out, {input}, [saved_out = SavedTensor(out)](const Tensor& g, const Node&) {
      return Grads{binary_forward("relu_backward", BinaryOp::relu_backward, g, saved_out.get())};
    });
  }
  return out;
}

Tensor gelu(const Tensor& input, GeluApproximate approximate) {
  const bool tanh_form = approximate == GeluApproximate::tanh;
  Tensor out = unary_forward("gelu", tanh_form ? UnaryOp::gelu_tanh : UnaryOp::gelu, input);
  if (needs_grad(input)) {
    record_op("gelu", out, {input}, [saved = SavedTensor(input), tanh_form](const Tensor& g, const Node&) {
      return Grads{binary_forward("gelu_backward", tanh_form ? BinaryOp::gelu_tanh_backward : BinaryOp::gelu_backward,
                                  g, saved.get())};
    });
  }
  return out;
}

Tensor sigmoid(const Tensor& input) {
  Tensor out = unary_forward("sigmoid", UnaryOp::sigmoid, input);
  if (needs_grad(input)) {
    record_op("sigmoid", out, {input}, [saved_out = SavedTensor(out)](const Tensor& g, const Node&) {
      const Tensor& y = saved_out.get();
      return Grads{g * y * (1.0 - y)};
    });
  }
  return out;
}

Tensor tanh(const Tensor& input) {
  Tensor out = unary_forward("tanh", UnaryOp::tanh, input);
  if (needs_grad(input)) {
    record_op("tanh", out, {input}, [saved_out = SavedTensor(out)](const Tensor& g, const Node&) {
      const Tensor& y = saved_out.get();
      return Grads{g * (1.0 - y * y)};
    });
  }
  return out;
}

Tensor clamp(const Tensor& input, std::optional<double> min, std::optional<double> max) {
  const Device device = detail::common_device("clamp", {&input});
  EMBER_CHECK(!min || !max || *min <= *max, "clamp: min ", *min, " is greater than max ", *max);
  Tensor out = empty_like(input);
  EMBER_KERNEL("clamp", device, clamp, input.dtype(), input.sizes(), operand(out), operand(input), min.has_value(),
               min.value_or(0), max.has_value(), max.value_or(0));
  if (needs_grad(input)) {
    record_op("clamp", out, {input}, [saved = SavedTensor(input), min, max](const Tensor& g, const Node&) {
      // The gradient passes where the input was inside [min, max], as in PyTorch.
      const Tensor& x = saved.get();
      const Tensor zero = scalar_like(0.0, g);
      Tensor grad = g;
      if (min) grad = where(lt(x, *min), zero, grad);
      if (max) grad = where(gt(x, *max), zero, grad);
      return Grads{grad};
    });
  }
  return out;
}

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  const Device device = detail::common_device("where", {&cond, &a, &b});
  EMBER_CHECK(cond.dtype() == DType::b8, "where: condition must be a bool tensor, got ", describe(cond));
  detail::check_same_dtype("where", a, b);
  const Shape sizes = broadcast_shapes("where", broadcast_shapes("where", cond.sizes(), a.sizes()), b.sizes());
  Tensor out = empty(sizes, {.dtype = a.dtype(), .device = device});
  EMBER_KERNEL("where", device, where, a.dtype(), sizes, operand(out), operand(cond, sizes), operand(a, sizes),
               operand(b, sizes));
  if (needs_grad(a, b)) {
    record_op("where", out, {cond, a, b}, [saved_cond = SavedTensor(cond), sa = a.sizes(),
                                           sb = b.sizes()](const Tensor& g, const Node& n) {
      const Tensor zero = scalar_like(0.0, g);
      const Tensor& c = saved_cond.get();
      return Grads{Tensor(), n.needs_input_grad(1) ? sum_to(where(c, g, zero), sa) : Tensor(),
                   n.needs_input_grad(2) ? sum_to(where(c, zero, g), sb) : Tensor()};
    });
  }
  return out;
}

Tensor eq(const Tensor& a, const Tensor& b) { return compare("eq", CompareOp::eq, a, b); }
Tensor ne(const Tensor& a, const Tensor& b) { return compare("ne", CompareOp::ne, a, b); }
Tensor lt(const Tensor& a, const Tensor& b) { return compare("lt", CompareOp::lt, a, b); }
Tensor le(const Tensor& a, const Tensor& b) { return compare("le", CompareOp::le, a, b); }
Tensor gt(const Tensor& a, const Tensor& b) { return compare("gt", CompareOp::gt, a, b); }
Tensor ge(const Tensor& a, const Tensor& b) { return compare("ge", CompareOp::ge, a, b); }
Tensor eq(const Tensor& a, double b) { return eq(a, scalar_like(b, a)); }
Tensor lt(const Tensor& a, double b) { return lt(a, scalar_like(b, a)); }
Tensor gt(const Tensor& a, double b) { return gt(a, scalar_like(b, a)); }

namespace {

// In-place binary arithmetic: other broadcasts into self, self's memory takes the result.
const Tensor& binary_in_place(const char* op, BinaryOp kind, const Tensor& self, const Tensor& other,
                              Tensor (*out_of_place)(const Tensor&, const Tensor&)) {
  const Device device = detail::common_device(op, {&self, &other});
  detail::check_same_dtype(op, self, other);
  EMBER_CHECK(other.dim() <= self.dim() && broadcast_shapes(op, self.sizes(), other.sizes()) == self.sizes(), op,
              ": shape ", to_string(other.sizes()), " cannot be broadcast to the in-place target's shape ",
              to_string(self.sizes()));
  return detail::apply_in_place(
      op, self, needs_grad(other), [&](const Tensor& old_self) { return out_of_place(old_self, other); },
      [&] {
        EMBER_KERNEL(op, device, binary, kind, self.dtype(), self.sizes(), operand(self), operand(self),
                     operand(other, self.sizes()));
      });
}

}  // namespace

const Tensor& add_(const Tensor& self, const Tensor& other, double alpha) {
  const Tensor scaled = alpha == 1.0 ? other : mul(other, alpha);
  return binary_in_place("add_", BinaryOp::add, self, scaled,
                         [](const Tensor& a, const Tensor& b) { return add(a, b); });
}

const Tensor& mul_(const Tensor& self, const Tensor& other) {
  return binary_in_place("mul_", BinaryOp::mul, self, other,
                         [](const Tensor& a, const Tensor& b) { return mul(a, b); });
}

const Tensor& mul_(const Tensor& self, double scalar) { return mul_(self, scalar_like(scalar, self)); }

}  // namespace ember
