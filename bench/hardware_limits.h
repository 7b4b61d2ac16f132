#pragma once
// What this machine's devices can do at best, measured in the run that prints it, so a kernel's
// figure always stands beside its ceiling: copy bandwidth (STREAM's copy on the CPU, a
// device-to-device copy on a GPU) and arithmetic throughput (independent fused multiply-adds on
// the CPU, the library GEMM at 8192^3 on a GPU).
#include <cstdint>
#include <functional>

#include "core/cuda.h"
#include "core/ember.h"

namespace ember::bench {

// Median seconds of one call of `f` over `calls` timed calls, after one warm-up call; waits for
// `device` after each (a GPU runs ahead of the host).
double median_seconds(Device device, const std::function<void()>& f, int calls = 5);

// GB/s (bytes read + written) of a parallel b[i] = a[i] on all threads that moves `bytes` in all
// (half read, half written): 512 MiB measures memory; a kernel's own byte count measures the
// caches its data fits in, the bound of a kernel that must read its inputs and write its output.
double cpu_copy_gbps(std::int64_t bytes = std::int64_t{1} << 29);
// f32 GFLOP/s of independent chains of vector fused multiply-adds on all threads
// (kernels/cpu/peak_loops.h).
double cpu_fma_gflops();
// The same with AVX512-BF16's pair dot products (2 multiply-adds per f32 lane), or 0 where the
// CPU lacks them.
double cpu_bf16_dot_gflops();
// The limit of ember's bf16 products on this CPU: the dot products' where the kernels use them
// (kernels::cpu::cpu_isa() is avx512_bf16), the f32 FMAs' where they widen bf16 to f32.
double cpu_bf16_product_gflops();
// GB/s of a 1 GiB device-to-device copy, and GFLOP/s of ember's (cuBLASLt) GEMM at 8192^3.
double cuda_copy_gbps();
double cuda_gemm_gflops(DType dtype);

}  // namespace ember::bench
