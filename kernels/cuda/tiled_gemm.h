#pragma once
// A hand-written tensor-core GEMM, kept for teaching and benchmarking (bench/cuda_bench
// --gemm tiled): ops use cuBLASLt (kernels/cuda/gemm.cpp), which is faster on every shape.
//
// C[m, n] = A[m, k] B[k, n], all row-major and contiguous, f16 or bf16 inputs and output, f32
// accumulation. Each block computes a 128 x 128 tile of C: it walks k in steps of 32, copying
// the A and B tiles into shared memory (the next pair is loaded into registers while the
// current one is multiplied), and its 8 warps each multiply a 64 x 32 piece with 16 x 16 x 16
// tensor-core operations (WMMA). Any sizes work: tiles past the edges are zero-filled.
#include <cstdint>

#include "kernels/scalar_type.h"

namespace ember::kernels::cuda {

void tiled_gemm(DType dtype, std::int64_t m, std::int64_t n, std::int64_t k, const void* a, const void* b, void* c);

}  // namespace ember::kernels::cuda
