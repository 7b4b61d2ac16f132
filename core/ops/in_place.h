#pragma once
// The one mechanism behind every in-place op (add_, mul_, copy_, fill_, ...).
#include "core/autograd/grad_mode.h"
#include "core/ops/copy.h"
#include "core/ops/op_utils.h"

namespace ember::detail {

// Writes `value` into the memory of `self` (no autograd) and moves value's history onto self.
void assign_with_history(const Tensor& self, const Tensor& value);
// The Error for an in-place op that autograd cannot follow (`self` is a leaf or a view).
void check_in_place_allowed(const char* op, const Tensor& self);

// Runs an in-place op on `self`.
//  * Nothing to record (grad mode off, or neither self nor the other inputs require grad):
//    `write()` updates self's memory directly.
//  * Otherwise the op runs out of place, `compute(old_self)` with a private copy of self (so
//    the backward sees the old values, not the overwritten ones); the result is written into
//    self and its history becomes self's.
// Either way the version counter goes up, so saved copies of self know they are stale.
template <class Compute, class Write>
const Tensor& apply_in_place(const char* op, const Tensor& self, bool others_require_grad, Compute&& compute,
                             Write&& write) {
  if (GradMode::is_enabled() && (self.requires_grad() || others_require_grad)) {
    check_in_place_allowed(op, self);
    const Tensor result = compute(self.requires_grad() ? clone(self) : self.detach());
    assign_with_history(self, result);
  } else {
    write();
  }
  self.bump_version();
  return self;
}

}  // namespace ember::detail
