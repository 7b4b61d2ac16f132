#include "core/ops/copy.h"

#include "core/autograd/grad_mode.h"
#include "core/cuda.h"

#include "core/ops/factory.h"
#include "core/ops/in_place.h"
#include "core/ops/op_utils.h"
#include "core/ops/view.h"
#include "core/tensor_impl.h"
#include "kernels/elementwise.h"

namespace ember {

using detail::needs_grad;
using detail::operand;

namespace detail {

void copy_data(const Tensor& dst, const Tensor& src) {
  if (dst.storage() == src.storage() && !dst.is_same(src)) {
    // Source and destination may overlap (x.copy_(x.t())): read from a snapshot.
    NoGradGuard no_grad;
    return copy_data(dst, clone(src));
  }
  EMBER_KERNEL("copy_", dst.device(), copy, dst.dtype(), src.dtype(), dst.sizes(), operand(dst),
               operand(src, dst.sizes()));
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

Tensor to(const Tensor& input, Device device, bool non_blocking) {
  detail::check_defined("to", input);
  if (input.device() == device) return input;
  cuda::check_device("to", device);
  const Tensor source = contiguous(input);  // a dense block of bytes on its own device
  Tensor out = empty(source.sizes(), {.dtype = input.dtype(), .device = device});
  const std::size_t nbytes = static_cast<std::size_t>(source.numel()) * size_of(source.dtype());
  cuda::copy_bytes(out.data_ptr(), device, source.data_ptr(), source.device(), nbytes, non_blocking);
  if (needs_grad(input)) {
    record_op("to", out, {input}, [from = input.device()](const Tensor& grad, const Node&) {
      return std::vector<Tensor>{to(grad, from)};
    });
  }
  return out;
}

Tensor pin_memory(const Tensor& input) {
  detail::check_defined("pin_memory", input);
  EMBER_CHECK(input.device().is_cpu(), "pin_memory: only CPU tensors can be pinned, got ", describe(input));
  EMBER_CHECK(cuda::is_available(), "pin_memory: pinned memory needs a CUDA device, and none is available");
  const std::size_t nbytes = static_cast<std::size_t>(input.numel()) * size_of(input.dtype());
  void* block = cuda::allocate_pinned(nbytes);
  auto storage = Storage::borrow(block, nbytes, Device::cpu(), [](void* p) { cuda::release_pinned(p); });
  Tensor out = detail::make_tensor(std::move(storage), 0, input.sizes(), contiguous_strides(input.sizes()),
                                   input.dtype());
  copy_data(out, input);
  return out;
}

void set_data(const Tensor& self, const Tensor& source) {
  detail::check_defined("set_data", self);
  detail::check_defined("set_data", source);
  EMBER_CHECK(self.sizes() == source.sizes(), "set_data: source ", describe(source), " does not have the shape of ",
              describe(self));
  TensorImpl& impl = *self.impl();
  const TensorImpl& from = *source.impl();
  impl.storage = from.storage;
  impl.offset = from.offset;
  impl.strides = from.strides;
  impl.dtype = from.dtype;
  impl.is_view = from.is_view;
  self.bump_version();
}

const Tensor& copy_(const Tensor& self, const Tensor& src_in) {
  detail::check_defined("copy_", self);
  detail::check_defined("copy_", src_in);
  // Across devices the source moves first (as PyTorch's copy_ does), then copies in place.
  const Tensor src = to(src_in, self.device());
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
      [&] { EMBER_KERNEL("fill_", self.device(), fill, self.dtype(), self.sizes(), operand(self), value); });
}

const Tensor& zero_(const Tensor& self) { return fill_(self, 0.0); }

}  // namespace ember
