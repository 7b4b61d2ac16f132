#include "core/ops/softmax.h"

#include "core/autocast.h"
#include "core/ops/elementwise.h"
#include "core/ops/factory.h"
#include "core/ops/op_utils.h"
#include "core/ops/reduction.h"
#include "core/ops/view.h"
#include "kernels/cpu/softmax.h"
#include "kernels/cuda/softmax.h"

namespace ember {

using Grads = std::vector<Tensor>;

namespace {

// Runs the kernel with `dim` moved last (a transpose view, copied only if not contiguous).
Tensor softmax_forward(const char* op, const Tensor& input, std::int64_t dim, bool log) {
  const Device device = detail::common_device(op, {&input});
  detail::check_floating(op, input);
  if (input.dim() == 0) return softmax_forward(op, input.reshape({1}), 0, log).reshape({});
  dim = normalize_dim(op, dim, input.dim());
  const Tensor moved = input.transpose(dim, -1).contiguous();
  Tensor out = empty_like(moved);
  const std::int64_t cols = moved.size(-1);
  EMBER_KERNEL(op, device, softmax, input.dtype(), cols == 0 ? 0 : moved.numel() / cols, cols, moved.data_ptr(),
               out.data_ptr(), log);
  return out.transpose(dim, -1);
}

}  // namespace

Tensor softmax(const Tensor& input_in, std::int64_t dim) {
  const Tensor input = detail::autocast_f32(input_in);
  Tensor out = softmax_forward("softmax", input, dim, false);
  if (detail::needs_grad(input)) {
    record_op("softmax", out, {input}, [saved_out = SavedTensor(out), dim](const Tensor& g, const Node&) {
      // dx = y * (g - sum(g * y))
      const Tensor& y = saved_out.get();
      return Grads{mul(y, sub(g, sum(mul(g, y), {dim}, true)))};
    });
  }
  return out;
}

Tensor log_softmax(const Tensor& input_in, std::int64_t dim) {
  const Tensor input = detail::autocast_f32(input_in);
  Tensor out = softmax_forward("log_softmax", input, dim, true);
  if (detail::needs_grad(input)) {
    record_op("log_softmax", out, {input}, [saved_out = SavedTensor(out), dim](const Tensor& g, const Node&) {
      // dx = g - softmax(x) * sum(g), with softmax(x) = exp(log_softmax(x))
      return Grads{sub(g, mul(exp(saved_out.get()), sum(g, {dim}, true)))};
    });
  }
  return out;
}

}  // namespace ember
