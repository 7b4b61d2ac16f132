#pragma once
// DType: the element types, their sizes and names. No C++ element types here (those are in
// kernels/dtype.h, with Eigen's half types), so CUDA sources can include it.
#include <cstddef>
#include <cstdint>
#include <ostream>
#include <utility>

#include "kernels/error.h"

namespace ember {

enum class DType : std::uint8_t { f32, f64, f16, bf16, i32, i64, u8, b8 };

constexpr std::size_t size_of(DType dtype) {
  switch (dtype) {
    case DType::f64:
    case DType::i64: return 8;
    case DType::f32:
    case DType::i32: return 4;
    case DType::f16:
    case DType::bf16: return 2;
    case DType::u8:
    case DType::b8: return 1;
  }
  return 0;
}

constexpr const char* name(DType dtype) {
  switch (dtype) {
    case DType::f32: return "f32";
    case DType::f64: return "f64";
    case DType::f16: return "f16";
    case DType::bf16: return "bf16";
    case DType::i32: return "i32";
    case DType::i64: return "i64";
    case DType::u8: return "u8";
    case DType::b8: return "bool";
  }
  return "?";
}

inline std::ostream& operator<<(std::ostream& out, DType dtype) { return out << name(dtype); }

constexpr bool is_floating(DType dtype) {
  return dtype == DType::f32 || dtype == DType::f64 || dtype == DType::f16 || dtype == DType::bf16;
}

// The DType -> C++ type switch, once for every device. `HalfTypes` names the two 16-bit float
// types of a device (HalfTypes::half, HalfTypes::bfloat16): Eigen's on the CPU (core/dtype.h),
// CUDA's on the GPU (kernels/cuda/dispatch.cuh). Calls body.template operator()<T>(); a
// non-floating dtype is an Error naming `op`.
template <class HalfTypes, class Body>
decltype(auto) dispatch_floating_types(DType dtype, const char* op, Body&& body) {
  switch (dtype) {
    case DType::f32: return body.template operator()<float>();
    case DType::f64: return body.template operator()<double>();
    case DType::f16: return body.template operator()<typename HalfTypes::half>();
    case DType::bf16: return body.template operator()<typename HalfTypes::bfloat16>();
    default: fail(op, ": expected a floating dtype (f32, f64, f16, bf16), got ", dtype);
  }
}

// As dispatch_floating_types, for every dtype ember has.
template <class HalfTypes, class Body>
decltype(auto) dispatch_all_types(DType dtype, const char* op, Body&& body) {
  switch (dtype) {
    case DType::i32: return body.template operator()<std::int32_t>();
    case DType::i64: return body.template operator()<std::int64_t>();
    case DType::u8: return body.template operator()<std::uint8_t>();
    case DType::b8: return body.template operator()<bool>();
    default: return dispatch_floating_types<HalfTypes>(dtype, op, std::forward<Body>(body));
  }
}

}  // namespace ember
