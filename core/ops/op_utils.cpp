#include "core/ops/op_utils.h"

#include "core/cuda.h"

#include "core/ops/reduction.h"
#include "core/ops/view.h"

namespace ember::detail {

Tensor make_tensor(std::shared_ptr<Storage> storage, std::int64_t offset, Shape sizes, Shape strides, DType dtype) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::move(storage);
  impl->offset = offset;
  impl->sizes = std::move(sizes);
  impl->strides = std::move(strides);
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

Tensor make_view(const Tensor& base, Shape sizes, Shape strides, std::int64_t offset) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = base.storage();
  impl->offset = offset;
  impl->sizes = std::move(sizes);
  impl->strides = std::move(strides);
  impl->dtype = base.dtype();
  impl->version = base.impl()->version;
  impl->is_view = true;
  return Tensor(std::move(impl));
}

kernels::Operand operand(const Tensor& tensor, const Shape& sizes) {
  const Shape& own = tensor.sizes();
  const std::size_t lead = sizes.size() - own.size();
  Shape strides(sizes.size(), 0);
  for (std::size_t d = 0; d < own.size(); ++d) strides[lead + d] = own[d] == 1 ? 0 : tensor.strides()[d];
  return {tensor.data_ptr(), std::move(strides)};
}

void check_defined(const char* op, const Tensor& tensor) {
  EMBER_CHECK(tensor.defined(), op, ": got an undefined tensor");
}

Device common_device(const char* op, std::initializer_list<const Tensor*> tensors) {
  const Tensor* first = nullptr;
  for (const Tensor* tensor : tensors) {
    check_defined(op, *tensor);
    if (!first) {
      first = tensor;
      continue;
    }
    EMBER_CHECK(tensor->device() == first->device(), op, ": expected all tensors on one device, got ",
                describe(*first), " and ", describe(*tensor));
  }
  const Device device = first ? first->device() : Device::cpu();
  cuda::check_device(op, device);  // a CUDA tensor needs a CUDA build and a GPU that exists
  return device;
}

void check_same_dtype(const char* op, const Tensor& a, const Tensor& b) {
  EMBER_CHECK(a.dtype() == b.dtype(), op, ": dtypes do not match: ", describe(a), " and ", describe(b),
              " (ember does not promote types implicitly; convert one with .to(dtype))");
}

void check_floating(const char* op, const Tensor& tensor) {
  EMBER_CHECK(is_floating(tensor.dtype()), op, ": expected a floating tensor, got ", describe(tensor));
}

Tensor sum_to(const Tensor& grad, const Shape& sizes) {
  if (grad.sizes() == sizes) return grad;
  const std::size_t lead = grad.dim() - sizes.size();
  Shape dims;
  for (std::size_t d = 0; d < static_cast<std::size_t>(grad.dim()); ++d) {
    if (d < lead || (sizes[d - lead] == 1 && grad.size(static_cast<std::int64_t>(d)) != 1)) {
      dims.push_back(static_cast<std::int64_t>(d));
    }
  }
  Tensor summed = dims.empty() ? grad : sum(grad, dims, /*keepdim=*/true);
  return summed.reshape(sizes);
}

}  // namespace ember::detail
