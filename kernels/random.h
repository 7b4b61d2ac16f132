#pragma once
// Random fills from Philox (kernels/philox.h): element i depends only on (seed, offset, i).
//
// Each kernel's signature is written once, as a function type; `Type name;` below declares
// the function `name` of that type for each device: kernels/cpu/random.cpp and
// kernels/cuda/random.cu define them.
#include <cstdint>

#include "kernels/scalar_type.h"

namespace ember::kernels {

// out[i] = low + (high - low) * U[0, 1)  for i in [0, n); out contiguous.
using FillUniformKernel = void(DType dtype, std::int64_t n, void* out, std::uint64_t seed, std::uint64_t offset,
                               double low, double high);
// out[i] = mean + std * N(0, 1).
using FillNormalKernel = void(DType dtype, std::int64_t n, void* out, std::uint64_t seed, std::uint64_t offset,
                              double mean, double std);

namespace cpu {
FillUniformKernel fill_uniform;
FillNormalKernel fill_normal;
}  // namespace cpu

namespace cuda {
FillUniformKernel fill_uniform;
FillNormalKernel fill_normal;
}  // namespace cuda

}  // namespace ember::kernels
