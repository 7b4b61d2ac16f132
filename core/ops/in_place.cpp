#include "core/ops/in_place.h"

namespace ember::detail {

void check_in_place_allowed(const char* op, const Tensor& self) {
  EMBER_CHECK(!(self.is_leaf() && self.requires_grad()), op, ": a leaf tensor that requires grad (",
              describe(self), ") cannot be modified in place while grad mode is on; do the update under "
              "NoGradGuard");
  EMBER_CHECK(!self.impl()->is_view, op, ": ember's autograd does not follow in-place writes through a view (",
              describe(self), "); write into a clone(), or do the update under NoGradGuard");
}

void assign_with_history(const Tensor& self, const Tensor& value) {
  copy_data(self, value);
  AutogradMeta& meta = self.impl()->autograd_meta();
  meta.requires_grad = value.requires_grad();
  meta.grad_fn = value.grad_fn();
  meta.output_nr = value.output_nr();
}

}  // namespace ember::detail
