#pragma once
// Element types, their sizes and names, and the dispatch from a runtime DType to a C++ type.
//
// Like error.h this header is a leaf: kernels include it to know what a buffer holds.
#include <Eigen/Core>  // Eigen::half and Eigen::bfloat16 are ember's CPU half types

#include <cstddef>
#include <cstdint>
#include <ostream>
#include <type_traits>

#include "core/error.h"
#include "core/scalar_type.h"

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

// Calls body.template operator()<T>() with the C++ type T of `dtype`. Floating types only;
// any other dtype is an Error naming `op`.
template <class Body>
decltype(auto) dispatch_floating(DType dtype, const char* op, Body&& body) {
  switch (dtype) {
    case DType::f32: return body.template operator()<float>();
    case DType::f64: return body.template operator()<double>();
    case DType::f16: return body.template operator()<half>();
    case DType::bf16: return body.template operator()<bfloat16>();
    default: fail(op, ": expected a floating dtype (f32, f64, f16, bf16), got ", dtype);
  }
}

// As dispatch_floating, for every dtype ember has.
template <class Body>
decltype(auto) dispatch_all(DType dtype, const char* op, Body&& body) {
  switch (dtype) {
    case DType::i32: return body.template operator()<std::int32_t>();
    case DType::i64: return body.template operator()<std::int64_t>();
    case DType::u8: return body.template operator()<std::uint8_t>();
    case DType::b8: return body.template operator()<bool>();
    default: return dispatch_floating(dtype, op, std::forward<Body>(body));
  }
}

}  // namespace ember
