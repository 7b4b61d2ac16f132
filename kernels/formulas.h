#pragma once
// The scalar formula of every elementwise op, written once for both devices: the CPU loops
// (kernels/cpu/elementwise.cpp) and the CUDA kernels (kernels/cuda/elementwise.cu) apply these
// function objects to each element. A formula takes and returns the compute type C of the
// element type (float for f16/bf16, which are read and rounded outside the formula).
//
// with_unary_formula, with_binary_formula and with_compare_formula turn an op kind into its
// formula, also once.
#include <cmath>
#include <type_traits>

#include "kernels/error.h"
#include "kernels/host_device.h"
#include "kernels/op_kinds.h"

namespace ember::kernels::formulas {

inline constexpr double kInvSqrt2 = 0.70710678118654752440;    // 1 / sqrt(2)
inline constexpr double kInvSqrt2Pi = 0.39894228040143267794;  // 1 / sqrt(2 pi)
inline constexpr double kSqrt2OverPi = 0.79788456080286535588;  // sqrt(2 / pi)
inline constexpr double kGeluCubic = 0.044715;                   // the tanh form's cubic coefficient

// --- unary ------------------------------------------------------------------------------------
struct Neg {
  template <class C>
  EMBER_HOST_DEVICE C operator()(C x) const {
    return static_cast<C>(-x);
  }
};
struct Abs {
  template <class C>
  EMBER_HOST_DEVICE C operator()(C x) const {
    if constexpr (std::is_unsigned_v<C>) {
      return x;
    } else {
      return x < C(0) ? static_cast<C>(-x) : x;
    }
  }
};
struct Exp {
  template <class C>
  EMBER_HOST_DEVICE C operator()(C x) const {
    return std::exp(x);
  }
};
struct Log {
  template <class C>
  EMBER_HOST_DEVICE C operator()(C x) const {
    return std::log(x);
  }
};
struct Sqrt {
  template <class C>
  EMBER_HOST_DEVICE C operator()(C x) const {
    return std::sqrt(x);
  }
};
// NaN stays NaN, as in PyTorch: (x > 0) is false for NaN, so the test is x < 0.
struct Relu {
  template <class C>
  EMBER_HOST_DEVICE C operator()(C x) const {
    return x < C(0) ? C(0) : x;
  }
};
// The exact GELU, PyTorch's default: x * Phi(x), Phi the standard normal CDF.
struct Gelu {
  template <class C>
  EMBER_HOST_DEVICE C operator()(C x) const {
    return x * C(0.5) * (C(1) + std::erf(x * C(kInvSqrt2)));
  }
};
// PyTorch's approximate="tanh" GELU: x / 2 * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 x^3))).
struct GeluTanh {
  template <class C>
  EMBER_HOST_DEVICE C operator()(C x) const {
    return C(0.5) * x * (C(1) + std::tanh(C(kSqrt2OverPi) * (x + C(kGeluCubic) * x * x * x)));
  }
};
struct Sigmoid {
  template <class C>
  EMBER_HOST_DEVICE C operator()(C x) const {
    return C(1) / (C(1) + std::exp(-x));
  }
};
struct Tanh {
  template <class C>
  EMBER_HOST_DEVICE C operator()(C x) const {
    return std::tanh(x);
  }
};

// --- binary -----------------------------------------------------------------------------------
struct Add {
  template <class C>
  EMBER_HOST_DEVICE C operator()(C x, C y) const {
    return static_cast<C>(x + y);
  }
};
struct Sub {
  template <class C>
  EMBER_HOST_DEVICE C operator()(C x, C y) const {
    return static_cast<C>(x - y);
  }
};
struct Mul {
  template <class C>
  EMBER_HOST_DEVICE C operator()(C x, C y) const {
    return static_cast<C>(x * y);
  }
};
// Integers truncate like C++. The op layer rejects a zero integer divisor before any kernel
// runs; the guard only keeps the loop free of undefined behaviour (and of a trap on the GPU).
struct Div {
  template <class C>
  EMBER_HOST_DEVICE C operator()(C x, C y) const {
    if constexpr (std::is_integral_v<C>) {
      return y == 0 ? C(0) : static_cast<C>(x / y);
    } else {
      return x / y;
    }
  }
};
// Integer powers go through double, as C's pow does.
struct Pow {
  template <class C>
  EMBER_HOST_DEVICE C operator()(C x, C y) const {
    if constexpr (std::is_floating_point_v<C>) {
      return std::pow(x, y);
    } else {
      return static_cast<C>(std::pow(static_cast<double>(x), static_cast<double>(y)));
    }
  }
};
// relu's backward from its output y: the gradient passes where y > 0.
struct ReluBackward {
  template <class C>
  EMBER_HOST_DEVICE C operator()(C grad, C y) const {
    return y > C(0) ? grad : C(0);
  }
};
// gelu's backward: grad * d/dx [x * Phi(x)] = grad * (Phi(x) + x * phi(x)).
struct GeluBackward {
  template <class C>
  EMBER_HOST_DEVICE C operator()(C grad, C x) const {
    const C cdf = C(0.5) * (C(1) + std::erf(x * C(kInvSqrt2)));
    const C pdf = C(kInvSqrt2Pi) * std::exp(C(-0.5) * x * x);
    return grad * (cdf + x * pdf);
  }
};

// The tanh form's backward, with t = tanh(u), u = sqrt(2 / pi) (x + 0.044715 x^3):
// grad * (0.5 (1 + t) + 0.5 x (1 - t^2) sqrt(2 / pi) (1 + 3 * 0.044715 x^2)).
struct GeluTanhBackward {
  template <class C>
  EMBER_HOST_DEVICE C operator()(C grad, C x) const {
    const C t = std::tanh(C(kSqrt2OverPi) * (x + C(kGeluCubic) * x * x * x));
    const C du = C(kSqrt2OverPi) * (C(1) + C(3 * kGeluCubic) * x * x);
    return grad * (C(0.5) * (C(1) + t) + C(0.5) * x * (C(1) - t * t) * du);
  }
};

// --- compare (the result is a bool) ------------------------------------------------------------
template <CompareOp op>
struct Compare {
  template <class C>
  EMBER_HOST_DEVICE bool operator()(C x, C y) const {
    if constexpr (op == CompareOp::eq) return x == y;
    if constexpr (op == CompareOp::ne) return x != y;
    if constexpr (op == CompareOp::lt) return x < y;
    if constexpr (op == CompareOp::le) return x <= y;
    if constexpr (op == CompareOp::gt) return x > y;
    if constexpr (op == CompareOp::ge) return x >= y;
  }
};

// --- clamp: min(max(x, low), high); a bound is skipped when its flag is false ------------------
template <class C>
struct Clamp {
  bool has_low;
  C low;
  bool has_high;
  C high;
  EMBER_HOST_DEVICE C operator()(C x) const {
    if (has_low && x < low) x = low;
    if (has_high && x > high) x = high;
    return x;
  }
};

// Whether a unary op is defined for integer tensors too (the rest need a floating dtype).
constexpr bool unary_takes_integers(UnaryOp op) { return op == UnaryOp::neg || op == UnaryOp::abs; }

// Calls apply(formula) with the formula of `op`. Compute type C picks which formulas are
// instantiated: integer types get only those defined for them.
template <class C, class Apply>
void with_unary_formula(UnaryOp op, Apply&& apply) {
  switch (op) {
    case UnaryOp::neg: return apply(Neg{});
    case UnaryOp::abs: return apply(Abs{});
    default: break;
  }
  if constexpr (std::is_floating_point_v<C>) {
    switch (op) {
      case UnaryOp::exp: return apply(Exp{});
      case UnaryOp::log: return apply(Log{});
      case UnaryOp::sqrt: return apply(Sqrt{});
      case UnaryOp::relu: return apply(Relu{});
      case UnaryOp::gelu: return apply(Gelu{});
      case UnaryOp::gelu_tanh: return apply(GeluTanh{});
      case UnaryOp::sigmoid: return apply(Sigmoid{});
      case UnaryOp::tanh: return apply(Tanh{});
      default: break;
    }
  }
  fail("unary: op ", static_cast<int>(op), " is not defined for this dtype");
}

template <class C, class Apply>
void with_binary_formula(BinaryOp op, Apply&& apply) {
  switch (op) {
    case BinaryOp::add: return apply(Add{});
    case BinaryOp::sub: return apply(Sub{});
    case BinaryOp::mul: return apply(Mul{});
    case BinaryOp::div: return apply(Div{});
    case BinaryOp::pow: return apply(Pow{});
    case BinaryOp::relu_backward: return apply(ReluBackward{});
    case BinaryOp::gelu_backward:
      if constexpr (std::is_floating_point_v<C>) return apply(GeluBackward{});
      fail("gelu: expected a floating dtype");
    case BinaryOp::gelu_tanh_backward:
      if constexpr (std::is_floating_point_v<C>) return apply(GeluTanhBackward{});
      fail("gelu: expected a floating dtype");
  }
}

template <class Apply>
void with_compare_formula(CompareOp op, Apply&& apply) {
  switch (op) {
    case CompareOp::eq: return apply(Compare<CompareOp::eq>{});
    case CompareOp::ne: return apply(Compare<CompareOp::ne>{});
    case CompareOp::lt: return apply(Compare<CompareOp::lt>{});
    case CompareOp::le: return apply(Compare<CompareOp::le>{});
    case CompareOp::gt: return apply(Compare<CompareOp::gt>{});
    case CompareOp::ge: return apply(Compare<CompareOp::ge>{});
  }
}

}  // namespace ember::kernels::formulas
