#include "core/tensor.h"

#include <atomic>

#include "core/autograd/engine.h"
#include "core/autograd/grad_mode.h"
#include "core/autograd/node.h"
#include "core/host_sync.h"
#include "core/ops.h"
#include "core/ops/op_utils.h"
#include "core/tensor_impl.h"

namespace ember {

namespace {
const TensorImpl& checked(const std::shared_ptr<TensorImpl>& impl) {
  EMBER_CHECK(impl != nullptr, "Tensor: this tensor is undefined (default-constructed or reset)");
  return *impl;
}
}  // namespace

const Shape& Tensor::sizes() const { return checked(impl_).sizes; }
const Shape& Tensor::strides() const { return checked(impl_).strides; }
std::int64_t Tensor::dim() const { return static_cast<std::int64_t>(sizes().size()); }
std::int64_t Tensor::numel() const { return ember::numel(sizes()); }
DType Tensor::dtype() const { return checked(impl_).dtype; }
Device Tensor::device() const { return checked(impl_).storage->device(); }
std::int64_t Tensor::storage_offset() const { return checked(impl_).offset; }
const std::shared_ptr<Storage>& Tensor::storage() const { return checked(impl_).storage; }

std::int64_t Tensor::size(std::int64_t dim) const { return sizes()[normalize_dim("size", dim, this->dim())]; }
std::int64_t Tensor::stride(std::int64_t dim) const { return strides()[normalize_dim("stride", dim, this->dim())]; }

bool Tensor::is_contiguous() const {
  std::int64_t expected = 1;
  for (std::int64_t d = dim() - 1; d >= 0; --d) {
    if (sizes()[d] == 1) continue;  // a size-1 dim's stride never matters
    if (strides()[d] != expected) return false;
    expected *= sizes()[d];
  }
  return true;
}

void* Tensor::data_ptr() const {
  const TensorImpl& impl = checked(impl_);
  return static_cast<char*>(impl.storage->data()) + impl.offset * static_cast<std::int64_t>(size_of(impl.dtype));
}

void Tensor::check_dtype(DType expected, const char* what) const {
  EMBER_CHECK(dtype() == expected, what, ": tensor ", describe(*this), " is not of dtype ", expected);
}

template <class T>
std::vector<T> Tensor::to_vector() const {
  // A CUDA tensor is read through a host copy (to(cpu) waits for the device and counts the wait);
  // a CPU tensor's read is counted here (core/host_sync.h).
  if (device().is_cpu()) detail::count_host_sync();
  const Tensor dense = ember::to(*this, Device::cpu()).contiguous();
  std::vector<T> values(static_cast<std::size_t>(dense.numel()));
  dispatch_all(dtype(), "to_vector", [&]<class E>() {
    const E* data = static_cast<const E*>(dense.data_ptr());
    for (std::size_t i = 0; i < values.size(); ++i) {
      values[i] = static_cast<T>(static_cast<compute_t<E>>(data[i]));
    }
  });
  return values;
}

template <class T>
T Tensor::item() const {
  EMBER_CHECK(numel() == 1, "item: a tensor with ", numel(), " elements (shape ", to_string(sizes()),
              ") cannot be converted to a scalar");
  return to_vector<T>()[0];
}

template <class T>
T Tensor::at(std::initializer_list<std::int64_t> index) const {
  EMBER_CHECK(static_cast<std::int64_t>(index.size()) == dim(), "at: got ", index.size(),
              " indices for a tensor of shape ", to_string(sizes()));
  Tensor element = *this;
  for (std::int64_t i : index) element = element.select(0, i);
  return element.item<T>();
}

#define EMBER_INSTANTIATE_ACCESS(T)                                      \
  template std::vector<T> Tensor::to_vector<T>() const;                  \
  template T Tensor::item<T>() const;                                    \
  template T Tensor::at<T>(std::initializer_list<std::int64_t>) const;
EMBER_INSTANTIATE_ACCESS(float)
EMBER_INSTANTIATE_ACCESS(double)
EMBER_INSTANTIATE_ACCESS(std::int32_t)
EMBER_INSTANTIATE_ACCESS(std::int64_t)
EMBER_INSTANTIATE_ACCESS(std::uint8_t)
EMBER_INSTANTIATE_ACCESS(bool)
#undef EMBER_INSTANTIATE_ACCESS

// --- autograd ---

bool Tensor::requires_grad() const {
  const TensorImpl& impl = checked(impl_);
  return impl.autograd && impl.autograd->requires_grad;
}

Tensor& Tensor::set_requires_grad(bool requires_grad) {
  EMBER_CHECK(is_leaf(), "set_requires_grad: only leaf tensors can change requires_grad (this one has grad_fn ",
              grad_fn()->name(), "); use detach() first");
  EMBER_CHECK(!requires_grad || is_floating(dtype()),
              "set_requires_grad: only floating tensors can require grad, got ", describe(*this));
  impl_->autograd_meta().requires_grad = requires_grad;
  return *this;
}

Tensor Tensor::grad() const {
  const TensorImpl& impl = checked(impl_);
  return impl.autograd ? impl.autograd->grad : Tensor();
}

void Tensor::set_grad(const Tensor& grad) const {
  EMBER_CHECK(!grad.defined() || (grad.sizes() == sizes() && grad.dtype() == dtype()), "set_grad: gradient ",
              describe(grad), " does not match tensor ", describe(*this));
  impl_->autograd_meta().grad = grad;
}

void Tensor::reset_grad() const {
  if (checked(impl_).autograd) impl_->autograd->grad = Tensor();
}

const std::shared_ptr<Node>& Tensor::grad_fn() const {
  static const std::shared_ptr<Node> none;
  const TensorImpl& impl = checked(impl_);
  return impl.autograd ? impl.autograd->grad_fn : none;
}

std::uint32_t Tensor::output_nr() const {
  const TensorImpl& impl = checked(impl_);
  return impl.autograd ? impl.autograd->output_nr : 0;
}

bool Tensor::is_leaf() const { return grad_fn() == nullptr; }
std::uint32_t Tensor::version() const { return checked(impl_).version->load(); }
void Tensor::bump_version() const { ++*checked(impl_).version; }

void Tensor::backward(const Tensor& grad, bool retain_graph) const {
  run_backward({*this}, {grad}, retain_graph);
}

Tensor Tensor::detach() const {
  Tensor alias = detail::make_view(*this, sizes(), strides(), storage_offset());
  alias.impl()->is_view = impl_->is_view;
  return alias;
}

std::uint64_t Tensor::register_post_accumulate_grad_hook(std::function<void(const Tensor&)> hook) const {
  EMBER_CHECK(is_leaf() && requires_grad(), "register_post_accumulate_grad_hook: only leaf tensors that "
              "require grad have an accumulated gradient, got ", describe(*this));
  static std::atomic<std::uint64_t> next_handle{1};
  const std::uint64_t handle = next_handle++;
  impl_->autograd_meta().post_accumulate_hooks.emplace_back(handle, std::move(hook));
  return handle;
}

void Tensor::remove_post_accumulate_grad_hook(std::uint64_t handle) const {
  if (!impl_ || !impl_->autograd) return;
  auto& hooks = impl_->autograd->post_accumulate_hooks;
  std::erase_if(hooks, [handle](const auto& entry) { return entry.first == handle; });
}

// --- methods that forward to the op layer ---

Tensor Tensor::to(DType dtype) const { return ember::to(*this, dtype); }
Tensor Tensor::to(Device device) const { return ember::to(*this, device); }
Tensor Tensor::clone() const { return ember::clone(*this); }
Tensor Tensor::contiguous() const { return ember::contiguous(*this); }
Tensor Tensor::view(const Shape& sizes) const { return ember::view(*this, sizes); }
Tensor Tensor::reshape(const Shape& sizes) const { return ember::reshape(*this, sizes); }
Tensor Tensor::permute(const Shape& dims) const { return ember::permute(*this, dims); }
Tensor Tensor::transpose(std::int64_t dim0, std::int64_t dim1) const { return ember::transpose(*this, dim0, dim1); }
Tensor Tensor::t() const {
  EMBER_CHECK(dim() == 2, "t: expected a 2-D tensor, got shape ", to_string(sizes()));
  return transpose(0, 1);
}
Tensor Tensor::slice(std::int64_t dim, std::int64_t start, std::int64_t end, std::int64_t step) const {
  return ember::slice(*this, dim, start, end, step);
}
Tensor Tensor::select(std::int64_t dim, std::int64_t index) const { return ember::select(*this, dim, index); }
Tensor Tensor::expand(const Shape& sizes) const { return ember::expand(*this, sizes); }
Tensor Tensor::squeeze() const { return ember::squeeze(*this); }
Tensor Tensor::squeeze(std::int64_t dim) const { return ember::squeeze(*this, dim); }
Tensor Tensor::unsqueeze(std::int64_t dim) const { return ember::unsqueeze(*this, dim); }
Tensor Tensor::flatten(std::int64_t start_dim, std::int64_t end_dim) const {
  return ember::flatten(*this, start_dim, end_dim);
}
Tensor Tensor::sum() const { return ember::sum(*this); }
Tensor Tensor::sum(const Shape& dims, bool keepdim) const { return ember::sum(*this, dims, keepdim); }
Tensor Tensor::mean() const { return ember::mean(*this); }
Tensor Tensor::mean(const Shape& dims, bool keepdim) const { return ember::mean(*this, dims, keepdim); }
Tensor Tensor::exp() const { return ember::exp(*this); }
Tensor Tensor::log() const { return ember::log(*this); }
Tensor Tensor::relu() const { return ember::relu(*this); }
Tensor Tensor::matmul(const Tensor& other) const { return ember::matmul(*this, other); }
Tensor& Tensor::add_(const Tensor& other, double alpha) {
  ember::add_(*this, other, alpha);
  return *this;
}
Tensor& Tensor::mul_(const Tensor& other) {
  ember::mul_(*this, other);
  return *this;
}
Tensor& Tensor::mul_(double scalar) {
  ember::mul_(*this, scalar);
  return *this;
}
Tensor& Tensor::zero_() {
  ember::zero_(*this);
  return *this;
}
Tensor& Tensor::fill_(double value) {
  ember::fill_(*this, value);
  return *this;
}
Tensor& Tensor::copy_(const Tensor& src) {
  ember::copy_(*this, src);
  return *this;
}

std::string describe(const Tensor& tensor) {
  if (!tensor.defined()) return "(undefined)";
  return to_string(tensor.sizes()) + " " + name(tensor.dtype()) + " " + tensor.device().str();
}

}  // namespace ember
