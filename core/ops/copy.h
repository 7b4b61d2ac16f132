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
Tensor to(const Tensor& input, Device device);

// In place: copy (with broadcasting and dtype conversion), fill, zero. Each bumps the version.
const Tensor& copy_(const Tensor& self, const Tensor& src);
const Tensor& fill_(const Tensor& self, double value);
const Tensor& zero_(const Tensor& self);

}  // namespace ember
