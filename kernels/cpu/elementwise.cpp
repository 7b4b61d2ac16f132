#include "kernels/elementwise.h"

#include <algorithm>
#include <cmath>

#include "kernels/cpu/loops.h"
#include "kernels/dtype.h"

namespace ember::kernels::cpu {

namespace {

template <class T>
T from_double(double value) {
  return static_cast<T>(static_cast<compute_t<T>>(value));
}

// Applies `f` to each element, computing in compute_t<T> (float for the half types).
template <class T, class F>
void unary_math(const Sizes& sizes, const Operand& out, const Operand& in, F f) {
  using C = compute_t<T>;
  map<T, T>(sizes, [f](T x) { return static_cast<T>(f(static_cast<C>(x))); }, out, in);
}

template <class T, class F>
void binary_math(const Sizes& sizes, const Operand& out, const Operand& a, const Operand& b, F f) {
  using C = compute_t<T>;
  map<T, T, T>(sizes, [f](T x, T y) { return static_cast<T>(f(static_cast<C>(x), static_cast<C>(y))); },
               out, a, b);
}

constexpr double kInvSqrt2 = 0.70710678118654752440;
constexpr double kInvSqrt2Pi = 0.39894228040143267794;

}  // namespace

void unary(UnaryOp op, DType dtype, const Sizes& sizes, const Operand& out, const Operand& in) {
  if (op == UnaryOp::neg || op == UnaryOp::abs) {  // also defined for integers
    dispatch_all(dtype, "unary", [&]<class T>() {
      if constexpr (std::is_same_v<T, bool>) {
        fail("neg/abs: not defined for bool tensors");
      } else if (op == UnaryOp::neg) {
        unary_math<T>(sizes, out, in, [](auto x) { return -x; });
      } else {
        unary_math<T>(sizes, out, in, [](auto x) { return x < 0 ? -x : x; });
      }
    });
    return;
  }
  dispatch_floating(dtype, "unary", [&]<class T>() {
    using C = compute_t<T>;
    switch (op) {
      case UnaryOp::exp: return unary_math<T>(sizes, out, in, [](C x) { return std::exp(x); });
      case UnaryOp::log: return unary_math<T>(sizes, out, in, [](C x) { return std::log(x); });
      case UnaryOp::sqrt: return unary_math<T>(sizes, out, in, [](C x) { return std::sqrt(x); });
      case UnaryOp::relu:
        // NaN stays NaN, as in PyTorch: (x > 0) is false for NaN, so test x < 0 instead.
        return unary_math<T>(sizes, out, in, [](C x) { return x < C(0) ? C(0) : x; });
      case UnaryOp::gelu:  // the exact form, PyTorch's default: x * Phi(x)
        return unary_math<T>(sizes, out, in,
                             [](C x) { return x * C(0.5) * (C(1) + std::erf(x * C(kInvSqrt2))); });
      case UnaryOp::sigmoid:
        return unary_math<T>(sizes, out, in, [](C x) { return C(1) / (C(1) + std::exp(-x)); });
      case UnaryOp::tanh: return unary_math<T>(sizes, out, in, [](C x) { return std::tanh(x); });
      default: fail("unary: unknown op");
    }
  });
}

void binary(BinaryOp op, DType dtype, const Sizes& sizes, const Operand& out, const Operand& a,
            const Operand& b) {
  dispatch_all(dtype, "binary", [&]<class T>() {
    using C = compute_t<T>;
    if constexpr (std::is_same_v<T, bool>) {
      fail("arithmetic is not defined for bool tensors");
    } else {
      switch (op) {
        case BinaryOp::add: return binary_math<T>(sizes, out, a, b, [](C x, C y) { return x + y; });
        case BinaryOp::sub: return binary_math<T>(sizes, out, a, b, [](C x, C y) { return x - y; });
        case BinaryOp::mul: return binary_math<T>(sizes, out, a, b, [](C x, C y) { return x * y; });
        case BinaryOp::div:
          if constexpr (std::is_integral_v<C>) {
            // Truncates like C++. The op layer rejects a zero divisor before calling; the guard
            // only keeps this loop free of undefined behaviour.
            return binary_math<T>(sizes, out, a, b,
                                  [](C x, C y) { return y == 0 ? C(0) : static_cast<C>(x / y); });
          } else {
            return binary_math<T>(sizes, out, a, b, [](C x, C y) { return x / y; });
          }
        case BinaryOp::pow:
          return binary_math<T>(sizes, out, a, b,
                                [](C x, C y) { return static_cast<C>(std::pow(x, y)); });
        case BinaryOp::relu_backward:
          return binary_math<T>(sizes, out, a, b, [](C grad, C y) { return y > C(0) ? grad : C(0); });
        case BinaryOp::gelu_backward:
          if constexpr (std::is_floating_point_v<C>) {
            // d/dx [x * Phi(x)] = Phi(x) + x * phi(x)
            return binary_math<T>(sizes, out, a, b, [](C grad, C x) {
              const C cdf = C(0.5) * (C(1) + std::erf(x * C(kInvSqrt2)));
              const C pdf = C(kInvSqrt2Pi) * std::exp(C(-0.5) * x * x);
              return grad * (cdf + x * pdf);
            });
          } else {
            fail("gelu: expected a floating dtype, got ", dtype);
          }
      }
    }
  });
}

void compare(CompareOp op, DType dtype, const Sizes& sizes, const Operand& out, const Operand& a,
             const Operand& b) {
  dispatch_all(dtype, "compare", [&]<class T>() {
    using C = compute_t<T>;
    auto run = [&](auto predicate) {
      map<bool, T, T>(sizes, [predicate](T x, T y) { return predicate(static_cast<C>(x), static_cast<C>(y)); },
                      out, a, b);
    };
    switch (op) {
      case CompareOp::eq: return run([](C x, C y) { return x == y; });
      case CompareOp::ne: return run([](C x, C y) { return x != y; });
      case CompareOp::lt: return run([](C x, C y) { return x < y; });
      case CompareOp::le: return run([](C x, C y) { return x <= y; });
      case CompareOp::gt: return run([](C x, C y) { return x > y; });
      case CompareOp::ge: return run([](C x, C y) { return x >= y; });
    }
  });
}

void where(DType dtype, const Sizes& sizes, const Operand& out, const Operand& cond, const Operand& a,
           const Operand& b) {
  dispatch_all(dtype, "where", [&]<class T>() {
    map<T, bool, T, T>(sizes, [](bool c, T x, T y) { return c ? x : y; }, out, cond, a, b);
  });
}

void clamp(DType dtype, const Sizes& sizes, const Operand& out, const Operand& in, bool has_lo, double lo,
           bool has_hi, double hi) {
  dispatch_all(dtype, "clamp", [&]<class T>() {
    using C = compute_t<T>;
    const C low = static_cast<C>(lo), high = static_cast<C>(hi);
    map<T, T>(sizes, [=](T x) {
      C value = static_cast<C>(x);
      if (has_lo && value < low) value = low;
      if (has_hi && value > high) value = high;
      return static_cast<T>(value);
    }, out, in);
  });
}

void copy(DType out_dtype, DType in_dtype, const Sizes& sizes, const Operand& out, const Operand& in) {
  dispatch_all(out_dtype, "copy", [&]<class O>() {
    dispatch_all(in_dtype, "copy", [&]<class I>() {
      if constexpr (std::is_same_v<O, bool>) {
        map<O, I>(sizes, [](I x) { return static_cast<compute_t<I>>(x) != compute_t<I>(0); }, out, in);
      } else {
        // Through the compute types, since the half types convert only to and from float.
        map<O, I>(sizes, [](I x) { return static_cast<O>(static_cast<compute_t<O>>(static_cast<compute_t<I>>(x))); },
                  out, in);
      }
    });
  });
}

void fill(DType dtype, const Sizes& sizes, const Operand& out, double value) {
  dispatch_all(dtype, "fill", [&]<class T>() {
    const T v = from_double<T>(value);
    map<T>(sizes, [v]() { return v; }, out);
  });
}

}  // namespace ember::kernels::cpu
