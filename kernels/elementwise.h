#pragma once
// Elementwise CPU kernels over strided buffers. Every operand has `sizes` (already broadcast:
// a broadcast dim has stride 0); the output comes first.
//
// Each kernel's signature is written once, as a function type; `Type name;` below declares
// the function `name` of that type for each device: kernels/cpu/elementwise.cpp and
// kernels/cuda/elementwise.cu define them.
#include "kernels/op_kinds.h"
#include "kernels/operand.h"
#include "kernels/scalar_type.h"

namespace ember::kernels {

// out = op(in); out and in have `dtype`.
using UnaryKernel = void(UnaryOp op, DType dtype, const Sizes& sizes, const Operand& out, const Operand& in);
// out = op(a, b); all three have `dtype`.
using BinaryKernel = void(BinaryOp op, DType dtype, const Sizes& sizes, const Operand& out, const Operand& a,
                          const Operand& b);
// out (bool) = op(a, b); a and b have `dtype`.
using CompareKernel = void(CompareOp op, DType dtype, const Sizes& sizes, const Operand& out, const Operand& a,
                           const Operand& b);
// out = cond ? a : b; cond is bool, the rest have `dtype`.
using WhereKernel = void(DType dtype, const Sizes& sizes, const Operand& out, const Operand& cond, const Operand& a,
                         const Operand& b);
// out = min(max(in, lo), hi); a bound is skipped when its flag is false.
using ClampKernel = void(DType dtype, const Sizes& sizes, const Operand& out, const Operand& in, bool has_lo, double lo,
                         bool has_hi, double hi);
// out = in converted from in_dtype to out_dtype (also a plain strided copy when they match).
using CopyKernel = void(DType out_dtype, DType in_dtype, const Sizes& sizes, const Operand& out, const Operand& in);
// out = value.
using FillKernel = void(DType dtype, const Sizes& sizes, const Operand& out, double value);

namespace cpu {
UnaryKernel unary;
BinaryKernel binary;
CompareKernel compare;
WhereKernel where;
ClampKernel clamp;
CopyKernel copy;
FillKernel fill;
}  // namespace cpu

namespace cuda {
UnaryKernel unary;
BinaryKernel binary;
CompareKernel compare;
WhereKernel where;
ClampKernel clamp;
CopyKernel copy;
FillKernel fill;
}  // namespace cuda

}  // namespace ember::kernels
