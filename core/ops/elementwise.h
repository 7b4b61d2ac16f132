#pragma once
// Elementwise ops: arithmetic (with NumPy broadcasting), math functions, comparisons, where,
// and the in-place arithmetic PyTorch has. Scalars take the dtype of the tensor they meet.
#include <optional>

#include "core/tensor.h"

namespace ember {

Tensor add(const Tensor& a, const Tensor& b, double alpha = 1.0);  // a + alpha * b
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& base, const Tensor& exponent);
Tensor pow(const Tensor& base, double exponent);

Tensor add(const Tensor& a, double b);
Tensor sub(const Tensor& a, double b);
Tensor mul(const Tensor& a, double b);
Tensor div(const Tensor& a, double b);

Tensor neg(const Tensor& input);
Tensor exp(const Tensor& input);
Tensor log(const Tensor& input);
Tensor sqrt(const Tensor& input);
Tensor abs(const Tensor& input);
Tensor relu(const Tensor& input);
// PyTorch's approximate: none (the exact erf form, the default) or tanh.
enum class GeluApproximate { none, tanh };
Tensor gelu(const Tensor& input, GeluApproximate approximate = GeluApproximate::none);
Tensor sigmoid(const Tensor& input);
Tensor tanh(const Tensor& input);
// Limits each element to [min, max]; either bound may be left out.
Tensor clamp(const Tensor& input, std::optional<double> min, std::optional<double> max);

// cond ? a : b, elementwise, broadcasting all three. cond is a bool tensor.
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);

// Comparisons give bool tensors and carry no gradient.
Tensor eq(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);
Tensor eq(const Tensor& a, double b);
Tensor lt(const Tensor& a, double b);
Tensor gt(const Tensor& a, double b);

// In place; `other` must broadcast to self's shape and share its dtype.
const Tensor& add_(const Tensor& self, const Tensor& other, double alpha = 1.0);
const Tensor& mul_(const Tensor& self, const Tensor& other);
const Tensor& mul_(const Tensor& self, double scalar);

inline Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
inline Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
inline Tensor operator+(const Tensor& a, double b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, double b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, double b) { return mul(a, b); }
inline Tensor operator/(const Tensor& a, double b) { return div(a, b); }
inline Tensor operator*(double a, const Tensor& b) { return mul(b, a); }
inline Tensor operator+(double a, const Tensor& b) { return add(b, a); }
// a - b and a / b with the scalar on the left, one kernel each (a becomes a 0-dim tensor of b's
// dtype and device, so `1 - y` reads like the math).
Tensor operator-(double a, const Tensor& b);
Tensor operator/(double a, const Tensor& b);
inline Tensor operator-(const Tensor& a) { return neg(a); }

}  // namespace ember
