#pragma once
// CUDA's side of the dtype dispatch: the device element type of each DType (__half and
// __nv_bfloat16 for the half types) and the type arithmetic runs in (float for the half types,
// as on the CPU).
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>
#include <type_traits>

#include "kernels/error.h"
#include "kernels/scalar_type.h"

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

// The GPU's half types for the dispatch (core/scalar_type.h).
struct DeviceHalfTypes {
  using half = __half;
  using bfloat16 = __nv_bfloat16;
};

// body.template operator()<T>() with T the device type of a floating `dtype`.
template <class Body>
decltype(auto) dispatch_floating(DType dtype, const char* op, Body&& body) {
  return dispatch_floating_types<DeviceHalfTypes>(dtype, op, static_cast<Body&&>(body));
}

// As dispatch_floating, for every dtype.
template <class Body>
decltype(auto) dispatch_all(DType dtype, const char* op, Body&& body) {
  return dispatch_all_types<DeviceHalfTypes>(dtype, op, static_cast<Body&&>(body));
}

}  // namespace ember::kernels::cuda
