#pragma once
// Helpers the op files share: building tensors over storage, the kernels' view of a tensor,
// and the argument checks whose messages every op family uses.
#include <initializer_list>
#include <memory>

#include "core/autograd/node.h"
#include "core/tensor.h"
#include "core/tensor_impl.h"
#include "kernels/operand.h"

namespace ember::detail {

// A new tensor over `storage`.
Tensor make_tensor(std::shared_ptr<Storage> storage, std::int64_t offset, Shape sizes, Shape strides, DType dtype);
// A view of `base`: same storage and version counter, new geometry, no autograd history.
Tensor make_view(const Tensor& base, Shape sizes, Shape strides, std::int64_t offset);

// The kernels' view of `tensor` as it would be broadcast to `sizes` (broadcast dims stride 0).
kernels::Operand operand(const Tensor& tensor, const Shape& sizes);
inline kernels::Operand operand(const Tensor& tensor) { return {tensor.data_ptr(), tensor.strides()}; }

// Errors naming `op` when inputs are undefined or live on different devices; returns the device.
Device common_device(const char* op, std::initializer_list<const Tensor*> tensors);
void check_defined(const char* op, const Tensor& tensor);
void check_same_dtype(const char* op, const Tensor& a, const Tensor& b);
void check_floating(const char* op, const Tensor& tensor);
// The CUDA branch of an op's dispatch: `call` (a kernels::cuda function) in a CUDA build, the
// "this build has no CUDA" Error otherwise. Used as
//   if (device.is_cuda()) EMBER_CUDA_DISPATCH(op, kernels::cuda::f(...)); else kernels::cpu::f(...);
// Without CUDA the call still compiles, unevaluated (sizeof), so it is type-checked in every build
// and its arguments count as used.
#if EMBER_CUDA
#define EMBER_CUDA_DISPATCH(op, call) call
#else
#define EMBER_CUDA_DISPATCH(op, call) ((void)sizeof((call), 0), ::ember::cuda_unavailable(op))
#endif

// The common case: a kernel with the same name and signature on both devices (void result):
//   EMBER_KERNEL(op, device, binary, kind, dtype, sizes, out, a, b)
// calls kernels::cuda::binary(...) for a CUDA device and kernels::cpu::binary(...) otherwise.
#define EMBER_KERNEL(op, device, name, ...)                                             \
  do {                                                                                  \
    if ((device).is_cuda()) {                                                           \
      EMBER_CUDA_DISPATCH(op, ::ember::kernels::cuda::name(__VA_ARGS__));              \
    } else {                                                                            \
      ::ember::kernels::cpu::name(__VA_ARGS__);                                         \
    }                                                                                   \
  } while (false)

// Whether an op on these inputs has to record autograd history.
template <class... Tensors>
bool needs_grad(const Tensors&... inputs) {
  return any_requires_grad({&inputs...});
}

// Writes `src` (broadcast to dst's shape, converted to dst's dtype) into dst's memory, with no
// autograd and no version bump: the raw step of every in-place write.
void copy_data(const Tensor& dst, const Tensor& src);

// Sums `grad` over the dims that broadcasting added or stretched, back to `sizes`.
Tensor sum_to(const Tensor& grad, const Shape& sizes);

}  // namespace ember::detail
