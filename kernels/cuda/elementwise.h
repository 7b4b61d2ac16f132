#pragma once
// Elementwise CUDA kernels, with the CPU kernels' signatures (kernels/cpu/elementwise.h): every
// operand has `sizes` (already broadcast: a broadcast dim has stride 0); the output comes first.
// They run on the current stream and return without waiting.
#include "core/scalar_type.h"
#include "kernels/op_kinds.h"
#include "kernels/operand.h"

namespace ember::kernels::cuda {

void unary(UnaryOp op, DType dtype, const Sizes& sizes, const Operand& out, const Operand& in);
void binary(BinaryOp op, DType dtype, const Sizes& sizes, const Operand& out, const Operand& a, const Operand& b);
void compare(CompareOp op, DType dtype, const Sizes& sizes, const Operand& out, const Operand& a, const Operand& b);
void where(DType dtype, const Sizes& sizes, const Operand& out, const Operand& cond, const Operand& a,
           const Operand& b);
void clamp(DType dtype, const Sizes& sizes, const Operand& out, const Operand& in, bool has_lo, double lo, bool has_hi,
           double hi);
// Also the dtype conversion (casts) between any two dtypes.
void copy(DType out_dtype, DType in_dtype, const Sizes& sizes, const Operand& out, const Operand& in);
void fill(DType dtype, const Sizes& sizes, const Operand& out, double value);

}  // namespace ember::kernels::cuda
