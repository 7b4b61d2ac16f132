// Elementwise CUDA kernels, with the CPU kernels' signatures (kernels/elementwise.h): every
// operand has `sizes` (already broadcast: a broadcast dim has stride 0); the output comes first.
// They run on the current stream and return without waiting.
#include "kernels/cuda/dispatch.cuh"
#include "kernels/elementwise.h"
#include "kernels/cuda/map.cuh"
#include "kernels/formulas.h"

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

// nvcc allows no __device__ lambda inside a generic lambda, so each dispatch below calls a
// named function template per element type, and the device lambdas live there.

template <class T>
void typed_unary(UnaryOp op, const Sizes& sizes, const Operand& out, const Operand& in) {
  formulas::with_unary_formula<compute_t<T>>(op, [&](auto formula) { unary_math<T>(sizes, out, in, formula); });
}

template <class T>
void typed_binary(BinaryOp op, const Sizes& sizes, const Operand& out, const Operand& a, const Operand& b) {
  formulas::with_binary_formula<compute_t<T>>(op, [&](auto formula) { binary_math<T>(sizes, out, a, b, formula); });
}

template <class T, class Formula>
void compare_with(Formula formula, const Sizes& sizes, const Operand& out, const Operand& a, const Operand& b) {
  using C = compute_t<T>;
  map<bool, T, T>(sizes, [formula] __device__(T x, T y) { return formula(C(x), C(y)); }, out, a, b);
}

template <class T>
void typed_compare(CompareOp op, const Sizes& sizes, const Operand& out, const Operand& a, const Operand& b) {
  formulas::with_compare_formula(op, [&](auto formula) { compare_with<T>(formula, sizes, out, a, b); });
}

template <class T>
void typed_where(const Sizes& sizes, const Operand& out, const Operand& cond, const Operand& a, const Operand& b) {
  map<T, bool, T, T>(sizes, [] __device__(bool c, T x, T y) { return c ? x : y; }, out, cond, a, b);
}

template <class T>
void typed_clamp(const Sizes& sizes, const Operand& out, const Operand& in, bool has_lo, double lo, bool has_hi,
                 double hi) {
  using C = compute_t<T>;
  unary_math<T>(sizes, out, in, formulas::Clamp<C>{has_lo, static_cast<C>(lo), has_hi, static_cast<C>(hi)});
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
  auto run = [&]<class T>() {
    if constexpr (!std::is_same_v<T, bool>) typed_unary<T>(op, sizes, out, in);
  };
  if (formulas::unary_takes_integers(op)) {
    EMBER_CHECK(dtype != DType::b8, "neg/abs: not defined for bool tensors");
    dispatch_all(dtype, "unary", run);
  } else {
    dispatch_floating(dtype, "unary", run);
  }
}

void binary(BinaryOp op, DType dtype, const Sizes& sizes, const Operand& out, const Operand& a, const Operand& b) {
  EMBER_CHECK(dtype != DType::b8, "arithmetic is not defined for bool tensors");
  dispatch_all(dtype, "binary", [&]<class T>() {
    if constexpr (!std::is_same_v<T, bool>) typed_binary<T>(op, sizes, out, a, b);
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
