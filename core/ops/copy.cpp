#include "core/ops/copy.h"

#include "core/autograd/grad_mode.h"

#include "core/ops/factory.h"
#include "core/ops/in_place.h"
#include "core/ops/op_utils.h"
#include "core/ops/view.h"
#include "kernels/cpu/elementwise.h"

namespace ember {

using detail::needs_grad;
using detail::operand;

namespace detail {

void copy_data(const Tensor& dst, const Tensor& src) {
  check_cpu("copy_", dst.device());
  if (dst.storage() == src.storage() && !dst.is_same(src)) {
    // Source and destination may overlap (x.copy_(x.t())): read from a snapshot.
    NoGradGuard no_grad;
    return copy_data(dst, clone(src));
  }
  kernels::cpu::copy(dst.dtype(), src.dtype(), dst.sizes(), operand(dst), operand(src, dst.sizes()));
}

}  // namespace detail

using detail::copy_data;

Tensor clone(const Tensor& input) {
  const Device device = detail::common_device("clone", {&input});
  Tensor out = empty(input.sizes(), {.dtype = input.dtype(), .device = device});
  copy_data(out, input);
  if (needs_grad(input)) {
    record_op("clone", out, {input}, [](const Tensor& grad, const Node&) { return std::vector<Tensor>{grad}; });
  }
  return out;
}

Tensor contiguous(const Tensor& input) {
  detail::check_defined("contiguous", input);
  return input.is_contiguous() ? input : clone(input);
}

Tensor to(const Tensor& input, DType dtype) {
  const Device device = detail::common_device("to", {&input});
  if (input.dtype() == dtype) return input;
  Tensor out = empty(input.sizes(), {.dtype = dtype, .device = device});
  copy_data(out, input);
  if (needs_grad(input) && is_floating(dtype)) {
    record_op("to", out, {input}, [from = input.dtype()](const Tensor& grad, const Node&) {
      return std::vector<Tensor>{to(grad, from)};
    });
  }
  return out;
}

Tensor to(const Tensor& input, Device device) {
  detail::check_defined("to", input);
  if (input.device() == device) return input;
  cuda_unavailable("to");
}

const Tensor& copy_(const Tensor& self, const Tensor& src) {
  detail::common_device("copy_", {&self, &src});
  EMBER_CHECK(src.dim() <= self.dim() && broadcast_shapes("copy_", self.sizes(), src.sizes()) == self.sizes(),
              "copy_: source of shape ", to_string(src.sizes()), " cannot be broadcast to destination of shape ",
              to_string(self.sizes()));
  return detail::apply_in_place(
      "copy_", self, needs_grad(src),
      [&](const Tensor&) { return expand(to(src, self.dtype()), self.sizes()); },
      [&] { copy_data(self, src); });
}

const Tensor& fill_(const Tensor& self, double value) {
  detail::common_device("fill_", {&self});
  return detail::apply_in_place(
      "fill_", self, false, [&](const Tensor&) { return full_like(self, value); },
      [&] { kernels::cpu::fill(self.dtype(), self.sizes(), operand(self), value); });
}

const Tensor& zero_(const Tensor& self) { return fill_(self, 0.0); }

}  // namespace ember
