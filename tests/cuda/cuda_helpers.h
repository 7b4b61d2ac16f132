#pragma once
// Shared by the GPU tests: skipping without a GPU, and comparing a CUDA result with the CPU's.
#include <iostream>

#include "helpers.h"

namespace ember::testing {

// Every GPU test starts with this. Without a CUDA device it prints the line CTest's
// SKIP_REGULAR_EXPRESSION looks for (so the test is reported as skipped, not passed) and
// returns true. With one, it turns on allocation poisoning: outputs start as 0xFF bytes (NaN),
// so an element a kernel did not write fails the comparison.
inline bool skip_without_gpu() {
  if (!cuda::is_available()) {
    std::cout << "SKIPPED: no CUDA device" << std::endl;
    return true;
  }
  cuda::set_poison_allocations(true);
  return false;
}

// A random CPU tensor in `dtype` (normal values, or uniform in [low, high) when low < high).
inline Tensor random_cpu(const Shape& sizes, DType dtype, std::uint64_t seed, double low = 0, double high = 0) {
  Generator generator(seed);
  const Tensor values = low < high ? uniform(sizes, low, high, {}, generator) : randn(sizes, {}, generator);
  return values.to(dtype);
}

// METHOD.md's bounds: f32 results within 1e-5 of the CPU's, f16/bf16 inputs within 1e-2.
inline double tolerance_for(DType dtype) { return dtype == DType::f32 || dtype == DType::f64 ? 1e-5 : 1e-2; }

}  // namespace ember::testing
