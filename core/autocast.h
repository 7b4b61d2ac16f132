#pragma once
// Autocast: a thread-local scope in which ops pick their own precision (docs/design.md, "Mixed
// precision"), like PyTorch's torch.autocast:
//   - matrix products (matmul, linear, conv2d, conv_transpose2d) cast f32 inputs down to the
//     scope's dtype (f16 or bf16) and run there; the kernels accumulate in f32;
//   - ops that need range or many-term sums (softmax, log_softmax, sum, mean, var, the norms,
//     the losses) cast f16/bf16 inputs up to f32;
//   - ops that join tensors (cat, stack) cast them to the widest floating dtype among them, as
//     PyTorch's "promote" ops do: a U-Net joins an f32 skip (BatchNorm runs in f32) with a bf16
//     upsampling (a transposed convolution);
//   - every other op runs in the dtype it is given.
// Parameters stay f32: the casts are ordinary differentiable ops, so gradients flow back to the
// f32 master weights in f32. Backward runs with autocast off, so each gradient op runs in the
// dtype its forward op ran in.
#include <vector>

#include "core/tensor.h"

namespace ember {

bool autocast_enabled();
// The lower precision of the current scope: f16 or bf16.
DType autocast_dtype();

class AutocastGuard {
 public:
  // Turns autocast on with `dtype` (f16 or bf16), or off when `enabled` is false, until the
  // guard dies; scopes nest.
  explicit AutocastGuard(DType dtype = DType::f16, bool enabled = true);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  bool previous_enabled_;
  DType previous_dtype_;
};

namespace detail {

// The input of a matrix-product op: under autocast, an f32 tensor cast to the scope's dtype
// (undefined and non-f32 tensors pass through); outside autocast, `input` itself.
Tensor autocast_lower(const Tensor& input);
// The input of an op that runs in f32 under autocast: an f16/bf16 tensor cast to f32.
Tensor autocast_f32(const Tensor& input);
// The inputs of a joining op: under autocast, floating tensors of different dtypes cast to the
// widest (f16 with bf16 gives f32, as torch.promote_types); otherwise `inputs` unchanged.
std::vector<Tensor> autocast_widest(const std::vector<Tensor>& inputs);

}  // namespace detail

}  // namespace ember
