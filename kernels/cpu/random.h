#pragma once
// Random fills from Philox (kernels/philox.h): element i depends only on (seed, offset, i).
#include <cstdint>

#include "core/dtype.h"

namespace ember::kernels::cpu {

// out[i] = low + (high - low) * U[0, 1)  for i in [0, n); out contiguous.
void fill_uniform(DType dtype, std::int64_t n, void* out, std::uint64_t seed, std::uint64_t offset, double low,
                  double high);
// out[i] = mean + std * N(0, 1).
void fill_normal(DType dtype, std::int64_t n, void* out, std::uint64_t seed, std::uint64_t offset, double mean,
                 double std);

}  // namespace ember::kernels::cpu
