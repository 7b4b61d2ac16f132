#pragma once
// Copies, conversions and the in-place writes every tensor has.
#include "core/tensor.h"

namespace ember {

// `input` itself when already contiguous, else a contiguous copy.
Tensor contiguous(const Tensor& input);
// A contiguous copy with its own memory (differentiable).
Tensor clone(const Tensor& input);
// `input` converted to `dtype` (itself when it already has it). Differentiable between floating types.
Tensor to(const Tensor& input, DType dtype);
// `input` on `device` (itself when already there), differentiable. Copies to or from a GPU wait
// for the copy, except a copy of pinned host memory to the GPU with non_blocking.
Tensor to(const Tensor& input, Device device, bool non_blocking = false);
// A copy of a CPU tensor in page-locked memory, which the GPU reads by DMA (needs a CUDA device).
Tensor pin_memory(const Tensor& input);

// Points `self` at `source`'s memory (same shape; dtype and device may differ), keeping self's
// identity and autograd metadata: PyTorch's `param.data = source`, how Module::to moves weights.
void set_data(const Tensor& self, const Tensor& source);

// In place: copy (with broadcasting, dtype conversion and, from another device, a transfer),
// fill, zero. Each bumps the version.
const Tensor& copy_(const Tensor& self, const Tensor& src);
const Tensor& fill_(const Tensor& self, double value);
const Tensor& zero_(const Tensor& self);

}  // namespace ember
