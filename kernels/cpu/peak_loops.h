#pragma once
// Loops that run one core at its peak arithmetic rate: chains of independent vector multiply-adds
// held in registers, with no memory traffic. They measure what an instruction can do on this CPU
// rather than what its CPUID bit promises: the kernel choice (isa.cpp) times the bf16 dot
// products against the f32 FMAs with them, and the benches print the machine's peak with them
// (bench/hardware_limits.h).
#include <cstdint>

#include "kernels/cpu/isa.h"

namespace ember::kernels::cpu {

struct PeakLoop {
  // Runs `steps` steps and returns a sum of the chains, which the caller must use so the loop
  // cannot be dropped.
  float (*run)(std::int64_t steps);
  double flops_per_step;  // all chains together
};

// The widest f32 fused multiply-adds of `isa` (generic: SSE's separate multiply and add).
PeakLoop f32_fma_loop(Isa isa);
// AVX512-BF16's pair dot products (VDPBF16PS: 2 multiply-adds per f32 lane); run it only where
// cpu_isa_supported() is avx512_bf16.
PeakLoop bf16_dot_loop();

// GFLOP/s of one run of `loop` on the calling thread.
double one_thread_gflops(const PeakLoop& loop, std::int64_t steps);

}  // namespace ember::kernels::cpu
