#include "kernels/elementwise.h"

#include "kernels/cpu/loops.h"
#include "kernels/dtype.h"
#include "kernels/formulas.h"

namespace ember::kernels::cpu {

namespace {

template <class T>
T from_double(double value) {
  return static_cast<T>(static_cast<compute_t<T>>(value));
}

// Applies `f` to each element, computing in compute_t<T> (float for the half types); bf16 goes
// through the loops as its bits (loop_t), so they vectorize.
template <class T, class F>
void unary_math(const Sizes& sizes, const Operand& out, const Operand& in, F f) {
  using L = loop_t<T>;
  map<L, L>(sizes, [f](L x) { return narrow<T>(f(widen<T>(x))); }, out, in);
}

template <class T, class F>
void binary_math(const Sizes& sizes, const Operand& out, const Operand& a, const Operand& b, F f) {
  using L = loop_t<T>;
  map<L, L, L>(sizes, [f](L x, L y) { return narrow<T>(f(widen<T>(x), widen<T>(y))); }, out, a, b);
}

}  // namespace

void unary(UnaryOp op, DType dtype, const Sizes& sizes, const Operand& out, const Operand& in) {
  auto run = [&]<class T>() {
    if constexpr (!std::is_same_v<T, bool>) {
      formulas::with_unary_formula<compute_t<T>>(op, [&](auto formula) { unary_math<T>(sizes, out, in, formula); });
    }
  };
  if (formulas::unary_takes_integers(op)) {
    EMBER_CHECK(dtype != DType::b8, "neg/abs: not defined for bool tensors");
    dispatch_all(dtype, "unary", run);
  } else {
    dispatch_floating(dtype, "unary", run);
  }
}

void binary(BinaryOp op, DType dtype, const Sizes& sizes, const Operand& out, const Operand& a,
            const Operand& b) {
  EMBER_CHECK(dtype != DType::b8, "arithmetic is not defined for bool tensors");
  dispatch_all(dtype, "binary", [&]<class T>() {
    if constexpr (!std::is_same_v<T, bool>) {
      formulas::with_binary_formula<compute_t<T>>(op,
                                                  [&](auto formula) { binary_math<T>(sizes, out, a, b, formula); });
    }
  });
}

void compare(CompareOp op, DType dtype, const Sizes& sizes, const Operand& out, const Operand& a,
             const Operand& b) {
  dispatch_all(dtype, "compare", [&]<class T>() {
    using C = compute_t<T>;
    formulas::with_compare_formula(op, [&](auto formula) {
      map<bool, T, T>(sizes, [formula](T x, T y) { return formula(static_cast<C>(x), static_cast<C>(y)); }, out, a, b);
    });
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
    unary_math<T>(sizes, out, in, formulas::Clamp<C>{has_lo, static_cast<C>(lo), has_hi, static_cast<C>(hi)});
  });
}

void copy(DType out_dtype, DType in_dtype, const Sizes& sizes, const Operand& out, const Operand& in) {
  dispatch_all(out_dtype, "copy", [&]<class O>() {
    dispatch_all(in_dtype, "copy", [&]<class I>() {
      // bf16 as its bits (loop_t), so that the loops vectorize.
      using LO = loop_t<O>;
      using LI = loop_t<I>;
      if constexpr (std::is_same_v<O, I>) {
        map<LO, LI>(sizes, [](LI x) { return x; }, out, in);  // the bits as they are (a bias spread, a gather)
      } else if constexpr (std::is_same_v<O, bool>) {
        map<O, LI>(sizes, [](LI x) { return widen<I>(x) != compute_t<I>(0); }, out, in);
      } else {
        // Through the compute types, since the half types convert only to and from float.
        map<LO, LI>(sizes, [](LI x) { return narrow<O>(static_cast<compute_t<O>>(widen<I>(x))); }, out, in);
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
