#pragma once
// Tensor: a cheap, shared handle to a TensorImpl (sizes, strides, dtype, storage, autograd).
//
// Copying a Tensor shares its data; clone() copies it. Most math lives in the free functions
// of core/ops/*.h; the methods here are the ones a PyTorch user reaches for on the object.
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <iosfwd>
#include <memory>
#include <vector>

#include "core/device.h"
#include "core/dtype.h"
#include "core/shape.h"

namespace ember {

struct TensorImpl;
class Node;
class Storage;

class Tensor {
 public:
  Tensor() = default;  // an undefined tensor: no data, defined() == false
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // --- metadata ---
  bool defined() const { return impl_ != nullptr; }
  const Shape& sizes() const;
  const Shape& strides() const;
  std::int64_t size(std::int64_t dim) const;
  std::int64_t stride(std::int64_t dim) const;
  std::int64_t dim() const;
  std::int64_t numel() const;
  DType dtype() const;
  Device device() const;
  std::int64_t storage_offset() const;
  bool is_contiguous() const;
  const std::shared_ptr<Storage>& storage() const;
  TensorImpl* impl() const { return impl_.get(); }
  // True when both handles point at the same TensorImpl.
  bool is_same(const Tensor& other) const { return impl_ == other.impl_; }

  // --- data ---
  void* data_ptr() const;  // element 0, storage offset applied
  template <class T> T* data() const {
    check_dtype(dtype_of<T>, "data");
    return static_cast<T*>(data_ptr());
  }
  // The value of a one-element tensor, converted to T (any dtype, like PyTorch's .item()).
  template <class T = double> T item() const;
  // The element at `index` (one entry per dim), converted to T. Meant for tests and debugging.
  template <class T = double> T at(std::initializer_list<std::int64_t> index) const;
  // Every element in row-major order, converted to T.
  template <class T = double> std::vector<T> to_vector() const;

  // --- autograd ---
  bool requires_grad() const;
  Tensor& set_requires_grad(bool requires_grad = true);
  Tensor grad() const;
  void set_grad(const Tensor& grad) const;
  void reset_grad() const;  // sets .grad to undefined ("set to none")
  const std::shared_ptr<Node>& grad_fn() const;
  std::uint32_t output_nr() const;
  bool is_leaf() const;
  std::uint32_t version() const;
  void bump_version() const;
  // Runs reverse-mode autodiff from this tensor. `grad` may be omitted for a one-element tensor.
  void backward(const Tensor& grad = {}, bool retain_graph = false) const;
  // A tensor sharing this one's data (and version counter) with no autograd history.
  Tensor detach() const;
  // Calls `hook(leaf)` each time this leaf's .grad is final for a backward pass. Returns the
  // handle remove_post_accumulate_grad_hook takes (DDP removes its hooks when destroyed).
  std::uint64_t register_post_accumulate_grad_hook(std::function<void(const Tensor&)> hook) const;
  void remove_post_accumulate_grad_hook(std::uint64_t handle) const;

  // --- conversions and copies ---
  Tensor to(DType dtype) const;
  Tensor to(Device device) const;
  Tensor clone() const;
  Tensor contiguous() const;

  // --- views: share storage (see core/ops/view.h) ---
  Tensor view(const Shape& sizes) const;
  Tensor reshape(const Shape& sizes) const;
  Tensor permute(const Shape& dims) const;
  Tensor transpose(std::int64_t dim0, std::int64_t dim1) const;
  Tensor t() const;  // transpose of a 2-D tensor
  Tensor slice(std::int64_t dim, std::int64_t start, std::int64_t end, std::int64_t step = 1) const;
  Tensor select(std::int64_t dim, std::int64_t index) const;
  Tensor expand(const Shape& sizes) const;
  Tensor squeeze() const;
  Tensor squeeze(std::int64_t dim) const;
  Tensor unsqueeze(std::int64_t dim) const;
  Tensor flatten(std::int64_t start_dim = 0, std::int64_t end_dim = -1) const;

  // --- common math as methods (core/ops/*.h has the full set) ---
  Tensor sum() const;
  Tensor sum(const Shape& dims, bool keepdim = false) const;
  Tensor mean() const;
  Tensor mean(const Shape& dims, bool keepdim = false) const;
  Tensor exp() const;
  Tensor log() const;
  Tensor relu() const;
  Tensor matmul(const Tensor& other) const;

  // --- in place: bump the version counter ---
  Tensor& add_(const Tensor& other, double alpha = 1.0);
  Tensor& mul_(const Tensor& other);
  Tensor& mul_(double scalar);
  Tensor& zero_();
  Tensor& fill_(double value);
  Tensor& copy_(const Tensor& src);

 private:
  void check_dtype(DType expected, const char* what) const;
  std::shared_ptr<TensorImpl> impl_;
};

// PyTorch-style repr: tensor([[1., 2.], [3., 4.]], dtype=f64, requires_grad=true)
std::ostream& operator<<(std::ostream& out, const Tensor& tensor);

// A short description for error messages: "[2, 3] f32 cpu".
std::string describe(const Tensor& tensor);

}  // namespace ember
