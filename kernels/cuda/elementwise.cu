// Elementwise CUDA kernels, with the CPU kernels' signatures (kernels/elementwise.h): every
// operand has `sizes` (already broadcast: a broadcast dim has stride 0); the output comes first.
// They run on the current stream and return without waiting.
#include "kernels/cuda/dispatch.cuh"
#include "kernels/elementwise.h"
#include "kernels/cuda/map.cuh"

namespace ember::kernels::cuda {

namespace {

// Applies `f` in the compute type of T (float for the half types) and rounds once.
template <class T, class F>
void unary_math(const Sizes& sizes, const Operand& out, const Operand& in, F f) {
  using C = compute_t<T>;
  map<T, T>(sizes, [f] __device__(T x) { return static_cast<T>(f(static_cast<C>(x))); }, out, in);
}

template <class T, class F>
void binary_math(const Sizes& sizes, const Operand& out, const Operand& a, const Operand& b, F f) {
  using C = compute_t<T>;
  map<T, T, T>(sizes, [f] __device__(T x, T y) { return static_cast<T>(f(static_cast<C>(x), static_cast<C>(y))); },
               out, a, b);
}

constexpr double kInvSqrt2 = 0.70710678118654752440;
constexpr double kInvSqrt2Pi = 0.39894228040143267794;

// nvcc allows no __device__ lambda inside a generic lambda, so each dispatch below calls a
// named function template per element type, and the device lambdas live there.

template <class T>
void signed_unary(UnaryOp op, const Sizes& sizes, const Operand& out, const Operand& in) {
  using C = compute_t<T>;
  if (op == UnaryOp::neg) {
    unary_math<T>(sizes, out, in, [] __device__(C x) { return static_cast<C>(-x); });
  } else {
    if constexpr (std::is_unsigned_v<C>) {
      unary_math<T>(sizes, out, in, [] __device__(C x) { return x; });
    } else {
      unary_math<T>(sizes, out, in, [] __device__(C x) { return x < C(0) ? static_cast<C>(-x) : x; });
    }
  }
}

template <class T>
void floating_unary(UnaryOp op, const Sizes& sizes, const Operand& out, const Operand& in) {
  using C = compute_t<T>;
  switch (op) {
    case UnaryOp::exp: return unary_math<T>(sizes, out, in, [] __device__(C x) { return exp(x); });
    case UnaryOp::log: return unary_math<T>(sizes, out, in, [] __device__(C x) { return log(x); });
    case UnaryOp::sqrt: return unary_math<T>(sizes, out, in, [] __device__(C x) { return sqrt(x); });
    case UnaryOp::relu:  // NaN stays NaN: test x < 0, which is false for NaN
      return unary_math<T>(sizes, out, in, [] __device__(C x) { return x < C(0) ? C(0) : x; });
    case UnaryOp::gelu:  // exact: x * Phi(x)
      return unary_math<T>(sizes, out, in,
                           [] __device__(C x) { return x * C(0.5) * (C(1) + erf(x * C(kInvSqrt2))); });
    case UnaryOp::sigmoid:
      return unary_math<T>(sizes, out, in, [] __device__(C x) { return C(1) / (C(1) + exp(-x)); });
    case UnaryOp::tanh: return unary_math<T>(sizes, out, in, [] __device__(C x) { return tanh(x); });
    default: fail("unary: unknown op");
  }
}

template <class T>
void typed_binary(BinaryOp op, DType dtype, const Sizes& sizes, const Operand& out, const Operand& a,
                  const Operand& b) {
  using C = compute_t<T>;
  switch (op) {
    case BinaryOp::add: return binary_math<T>(sizes, out, a, b, [] __device__(C x, C y) { return C(x + y); });
    case BinaryOp::sub: return binary_math<T>(sizes, out, a, b, [] __device__(C x, C y) { return C(x - y); });
    case BinaryOp::mul: return binary_math<T>(sizes, out, a, b, [] __device__(C x, C y) { return C(x * y); });
    case BinaryOp::div:
      if constexpr (std::is_integral_v<C>) {
        // Truncates like C++; the op layer rejects a zero divisor, the guard only avoids a trap.
        return binary_math<T>(sizes, out, a, b, [] __device__(C x, C y) { return y == 0 ? C(0) : C(x / y); });
      } else {
        return binary_math<T>(sizes, out, a, b, [] __device__(C x, C y) { return x / y; });
      }
    case BinaryOp::pow:
      if constexpr (std::is_floating_point_v<C>) {
        return binary_math<T>(sizes, out, a, b, [] __device__(C x, C y) { return pow(x, y); });
      } else {
        return binary_math<T>(sizes, out, a, b, [] __device__(C x, C y) {
          return static_cast<C>(pow(static_cast<double>(x), static_cast<double>(y)));
        });
      }
    case BinaryOp::relu_backward:
      return binary_math<T>(sizes, out, a, b, [] __device__(C grad, C y) { return y > C(0) ? grad : C(0); });
    case BinaryOp::gelu_backward:
      if constexpr (std::is_floating_point_v<C>) {
        // d/dx [x * Phi(x)] = Phi(x) + x * phi(x)
        return binary_math<T>(sizes, out, a, b, [] __device__(C grad, C x) {
          const C cdf = C(0.5) * (C(1) + erf(x * C(kInvSqrt2)));
          const C pdf = C(kInvSqrt2Pi) * exp(C(-0.5) * x * x);
          return grad * (cdf + x * pdf);
        });
      } else {
        fail("gelu: expected a floating dtype, got ", dtype);
      }
  }
}

template <class T>
void typed_compare(CompareOp op, const Sizes& sizes, const Operand& out, const Operand& a, const Operand& b) {
  using C = compute_t<T>;
  switch (op) {
    case CompareOp::eq:
      return map<bool, T, T>(sizes, [] __device__(T x, T y) { return C(x) == C(y); }, out, a, b);
    case CompareOp::ne:
      return map<bool, T, T>(sizes, [] __device__(T x, T y) { return C(x) != C(y); }, out, a, b);
    case CompareOp::lt:
      return map<bool, T, T>(sizes, [] __device__(T x, T y) { return C(x) < C(y); }, out, a, b);
    case CompareOp::le:
      return map<bool, T, T>(sizes, [] __device__(T x, T y) { return C(x) <= C(y); }, out, a, b);
    case CompareOp::gt:
      return map<bool, T, T>(sizes, [] __device__(T x, T y) { return C(x) > C(y); }, out, a, b);
    case CompareOp::ge:
      return map<bool, T, T>(sizes, [] __device__(T x, T y) { return C(x) >= C(y); }, out, a, b);
  }
}

template <class T>
void typed_where(const Sizes& sizes, const Operand& out, const Operand& cond, const Operand& a, const Operand& b) {
  map<T, bool, T, T>(sizes, [] __device__(bool c, T x, T y) { return c ? x : y; }, out, cond, a, b);
}

template <class T>
void typed_clamp(const Sizes& sizes, const Operand& out, const Operand& in, bool has_lo, double lo, bool has_hi,
                 double hi) {
  using C = compute_t<T>;
  const C low = static_cast<C>(lo), high = static_cast<C>(hi);
  map<T, T>(sizes, [=] __device__(T x) {
    C value = static_cast<C>(x);
    if (has_lo && value < low) value = low;
    if (has_hi && value > high) value = high;
    return static_cast<T>(value);
  }, out, in);
}

template <class O, class I>
void typed_copy(const Sizes& sizes, const Operand& out, const Operand& in) {
  map<O, I>(sizes, [] __device__(I x) { return convert<O>(x); }, out, in);
}

template <class T>
void typed_fill(const Sizes& sizes, const Operand& out, double value) {
  const T v = convert<T>(value);
  map<T>(sizes, [v] __device__() { return v; }, out);
}

}  // namespace

void unary(UnaryOp op, DType dtype, const Sizes& sizes, const Operand& out, const Operand& in) {
  if (op == UnaryOp::neg || op == UnaryOp::abs) {  // also defined for integers
    EMBER_CHECK(dtype != DType::b8, "neg/abs: not defined for bool tensors");
    dispatch_all(dtype, "unary", [&]<class T>() {
      if constexpr (!std::is_same_v<T, bool>) signed_unary<T>(op, sizes, out, in);
    });
    return;
  }
  dispatch_floating(dtype, "unary", [&]<class T>() { floating_unary<T>(op, sizes, out, in); });
}

void binary(BinaryOp op, DType dtype, const Sizes& sizes, const Operand& out, const Operand& a, const Operand& b) {
  EMBER_CHECK(dtype != DType::b8, "arithmetic is not defined for bool tensors");
  dispatch_all(dtype, "binary", [&]<class T>() {
    if constexpr (!std::is_same_v<T, bool>) typed_binary<T>(op, dtype, sizes, out, a, b);
  });
}

void compare(CompareOp op, DType dtype, const Sizes& sizes, const Operand& out, const Operand& a, const Operand& b) {
  dispatch_all(dtype, "compare", [&]<class T>() { typed_compare<T>(op, sizes, out, a, b); });
}

void where(DType dtype, const Sizes& sizes, const Operand& out, const Operand& cond, const Operand& a,
           const Operand& b) {
  dispatch_all(dtype, "where", [&]<class T>() { typed_where<T>(sizes, out, cond, a, b); });
}

void clamp(DType dtype, const Sizes& sizes, const Operand& out, const Operand& in, bool has_lo, double lo, bool has_hi,
           double hi) {
  dispatch_all(dtype, "clamp", [&]<class T>() { typed_clamp<T>(sizes, out, in, has_lo, lo, has_hi, hi); });
}

void copy(DType out_dtype, DType in_dtype, const Sizes& sizes, const Operand& out, const Operand& in) {
  dispatch_all(out_dtype, "copy", [&]<class O>() {
    dispatch_all(in_dtype, "copy", [&]<class I>() { typed_copy<O, I>(sizes, out, in); });
  });
}

void fill(DType dtype, const Sizes& sizes, const Operand& out, double value) {
  dispatch_all(dtype, "fill", [&]<class T>() { typed_fill<T>(sizes, out, value); });
}

}  // namespace ember::kernels::cuda
