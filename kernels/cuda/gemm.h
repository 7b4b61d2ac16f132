#pragma once
// Matrix multiply on the GPU through cuBLASLt, with the CPU GEMM's contract (kernels/cpu/gemm.h):
// for b in [0, batch): C_b = A_b @ B_b (+ C_b when accumulate), row-major C, A and B row- or
// column-major. f16/bf16 run on the tensor cores with f32 accumulation; f32 runs in full f32
// unless TF32 is allowed (set_allow_tf32: ~8x the throughput, a 10-bit mantissa per product).
// The algorithm is chosen once per (dtype, shape, layout) by cuBLASLt's heuristic and cached.
#include <cstdint>

#include "core/scalar_type.h"
#include "kernels/operand.h"

namespace ember::kernels::cuda {

void gemm(DType dtype, std::int64_t batch, std::int64_t m, std::int64_t n, std::int64_t k, const MatrixRef& a,
          std::int64_t a_batch_stride, const MatrixRef& b, std::int64_t b_batch_stride, void* c,
          std::int64_t c_row_stride, std::int64_t c_batch_stride, bool accumulate);

void set_allow_tf32(bool allow);
bool allow_tf32();

}  // namespace ember::kernels::cuda
