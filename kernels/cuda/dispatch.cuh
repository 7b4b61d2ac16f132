#pragma once
// CUDA's side of the dtype dispatch: the device element type of each DType (__half and
// __nv_bfloat16 for the half types) and the type arithmetic runs in (float for the half types,
// as on the CPU).
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>
#include <type_traits>

#include "core/error.h"
#include "core/scalar_type.h"

namespace ember::kernels::cuda {

template <class T>
using compute_t = std::conditional_t<std::is_same_v<T, __half> || std::is_same_v<T, __nv_bfloat16>, float, T>;

// Converts between element types through their compute types (the half types convert only to
// and from float); to bool means "is not zero".
template <class To, class From>
__host__ __device__ inline To convert(From value) {
  const auto wide = static_cast<compute_t<From>>(value);
  if constexpr (std::is_same_v<To, bool>) {
    return wide != compute_t<From>(0);
  } else {
    return static_cast<To>(static_cast<compute_t<To>>(wide));
  }
}

// body.template operator()<T>() with T the device type of a floating `dtype`.
template <class Body>
decltype(auto) dispatch_floating(DType dtype, const char* op, Body&& body) {
  switch (dtype) {
    case DType::f32: return body.template operator()<float>();
    case DType::f64: return body.template operator()<double>();
    case DType::f16: return body.template operator()<__half>();
    case DType::bf16: return body.template operator()<__nv_bfloat16>();
    default: fail(op, ": expected a floating dtype (f32, f64, f16, bf16), got ", dtype);
  }
}

// As dispatch_floating, for every dtype.
template <class Body>
decltype(auto) dispatch_all(DType dtype, const char* op, Body&& body) {
  switch (dtype) {
    case DType::i32: return body.template operator()<std::int32_t>();
    case DType::i64: return body.template operator()<std::int64_t>();
    case DType::u8: return body.template operator()<std::uint8_t>();
    case DType::b8: return body.template operator()<bool>();
    default: return dispatch_floating(dtype, op, static_cast<Body&&>(body));
  }
}

}  // namespace ember::kernels::cuda
