#pragma once
// Elementwise CPU kernels over strided buffers. Every operand has `sizes` (already broadcast:
// a broadcast dim has stride 0); the output comes first.
#include "core/dtype.h"
#include "kernels/op_kinds.h"
#include "kernels/operand.h"

namespace ember::kernels::cpu {


// out = op(in); out and in have `dtype`.
void unary(UnaryOp op, DType dtype, const Sizes& sizes, const Operand& out, const Operand& in);
// out = op(a, b); all three have `dtype`.
void binary(BinaryOp op, DType dtype, const Sizes& sizes, const Operand& out, const Operand& a,
            const Operand& b);
// out (bool) = op(a, b); a and b have `dtype`.
void compare(CompareOp op, DType dtype, const Sizes& sizes, const Operand& out, const Operand& a,
             const Operand& b);
// out = cond ? a : b; cond is bool, the rest have `dtype`.
void where(DType dtype, const Sizes& sizes, const Operand& out, const Operand& cond, const Operand& a,
           const Operand& b);
// out = min(max(in, lo), hi); a bound is skipped when its flag is false.
void clamp(DType dtype, const Sizes& sizes, const Operand& out, const Operand& in, bool has_lo, double lo,
           bool has_hi, double hi);
// out = in converted from in_dtype to out_dtype (also a plain strided copy when they match).
void copy(DType out_dtype, DType in_dtype, const Sizes& sizes, const Operand& out, const Operand& in);
// out = value.
void fill(DType dtype, const Sizes& sizes, const Operand& out, double value);

}  // namespace ember::kernels::cpu
