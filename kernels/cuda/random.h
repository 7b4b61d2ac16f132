#pragma once
// Random fills on the GPU from the same Philox stream as the CPU (kernels/cpu/random.h): element
// i depends only on (seed, offset, i), so a seed gives the same uniform values on both devices,
// bit for bit (the arithmetic is written so nvcc does not fuse it into an FMA the CPU lacks).
// Normal values go through the device's log and cos, which may differ from glibc's in the last
// bit or two.
#include <cstdint>

#include "core/scalar_type.h"

namespace ember::kernels::cuda {

void fill_uniform(DType dtype, std::int64_t n, void* out, std::uint64_t seed, std::uint64_t offset, double low,
                  double high);
void fill_normal(DType dtype, std::int64_t n, void* out, std::uint64_t seed, std::uint64_t offset, double mean,
                 double std);

}  // namespace ember::kernels::cuda
