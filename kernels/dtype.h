#pragma once
// Element types, their sizes and names, and the dispatch from a runtime DType to a C++ type.
//
// Like error.h this header is at the bottom: kernels include it to know what a buffer holds, and
// core re-exports it as core/dtype.h.
#include <Eigen/Core>  // Eigen::half and Eigen::bfloat16 are ember's CPU half types

#include <cstddef>
#include <cstdint>
#include <ostream>
#include <type_traits>

#include "kernels/error.h"
#include "kernels/scalar_type.h"

namespace ember {

using half = Eigen::half;
using bfloat16 = Eigen::bfloat16;

// The DType of a C++ element type: dtype_of<float> == DType::f32.
template <class T> inline constexpr DType dtype_of = DType::f32;
template <> inline constexpr DType dtype_of<double> = DType::f64;
template <> inline constexpr DType dtype_of<half> = DType::f16;
template <> inline constexpr DType dtype_of<bfloat16> = DType::bf16;
template <> inline constexpr DType dtype_of<std::int32_t> = DType::i32;
template <> inline constexpr DType dtype_of<std::int64_t> = DType::i64;
template <> inline constexpr DType dtype_of<std::uint8_t> = DType::u8;
template <> inline constexpr DType dtype_of<bool> = DType::b8;

// The type arithmetic on T is carried out in: half types compute in float, as on the GPU.
template <class T>
using compute_t = std::conditional_t<std::is_same_v<T, half> || std::is_same_v<T, bfloat16>, float, T>;

// bf16 as the CPU loops see it: its 16 bits. GCC vectorizes loops over integers and floats but
// not over Eigen::bfloat16 objects, whose conversions are function calls; these are bit
// operations it can see through. Other element types are themselves.
template <class T>
using loop_t = std::conditional_t<std::is_same_v<T, bfloat16>, std::uint16_t, T>;

// An element (as loop_t) widened to the compute type: exact.
template <class T>
inline compute_t<T> widen(loop_t<T> x) {
  if constexpr (std::is_same_v<T, bfloat16>) {
    return Eigen::numext::bit_cast<float>(static_cast<std::uint32_t>(x) << 16);
  } else {
    return static_cast<compute_t<T>>(x);
  }
}

// A compute-type value rounded to the element type (as loop_t): to nearest, ties to even, a NaN
// stays a NaN.
template <class T>
inline loop_t<T> narrow(compute_t<T> value) {
  if constexpr (std::is_same_v<T, bfloat16>) {
    std::uint32_t bits = Eigen::numext::bit_cast<std::uint32_t>(value);
    const bool nan = (bits & 0x7fffffffu) > 0x7f800000u;
    bits += 0x7fffu + ((bits >> 16) & 1u);
    return nan ? std::uint16_t{0x7fc0} : static_cast<std::uint16_t>(bits >> 16);
  } else {
    return static_cast<T>(value);
  }
}

// The same rounding to T itself.
template <class T>
inline T round_to(compute_t<T> value) {
  if constexpr (std::is_same_v<T, bfloat16>) {
    return Eigen::numext::bit_cast<bfloat16>(narrow<T>(value));
  } else {
    return static_cast<T>(value);
  }
}

// The CPU's half types for the dispatch.
struct HostHalfTypes {
  using half = ember::half;
  using bfloat16 = ember::bfloat16;
};

// Calls body.template operator()<T>() with the C++ type T of `dtype`. Floating types only;
// any other dtype is an Error naming `op`.
template <class Body>
decltype(auto) dispatch_floating(DType dtype, const char* op, Body&& body) {
  return dispatch_floating_types<HostHalfTypes>(dtype, op, std::forward<Body>(body));
}

// As dispatch_floating, for every dtype ember has.
template <class Body>
decltype(auto) dispatch_all(DType dtype, const char* op, Body&& body) {
  return dispatch_all_types<HostHalfTypes>(dtype, op, std::forward<Body>(body));
}

}  // namespace ember
