#include "core/ops/softmax.h"

#include "core/autocast.h"
#include "core/ops/elementwise.h"
#include "core/ops/factory.h"
#include "core/ops/op_utils.h"
#include "core/ops/reduction.h"
#include "core/ops/view.h"
#include "kernels/softmax.h"

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
      return Grads{y * (g - sum(g * y, {dim}, true))};
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
      return Grads{g - exp(saved_out.get()) * sum(g, {dim}, true)};
    });
  }
  return out;
}

Tensor softmax_cross_entropy(const Tensor& logits_in, const Tensor& labels, const Tensor& class_weight_in,
                             std::int64_t ignore_index, double label_smoothing) {
  const char* op = "softmax_cross_entropy";
  const Tensor logits = detail::autocast_f32(logits_in);
  const Device device = detail::common_device(op, {&logits, &labels});
  detail::check_floating(op, logits);
  EMBER_CHECK(logits.dim() == 2 && logits.size(1) > 0, op, ": logits must be [M, C] with C > 0, got ",
              describe(logits));
  EMBER_CHECK(labels.dtype() == DType::i64 && labels.sizes() == Shape{logits.size(0)}, op,
              ": labels must be an i64 tensor of shape [", logits.size(0), "], got ", describe(labels));
  const std::int64_t classes = logits.size(1);
  Tensor class_weight;
  if (class_weight_in.defined()) {
    detail::common_device(op, {&logits, &class_weight_in});
    EMBER_CHECK(class_weight_in.sizes() == Shape{classes} && class_weight_in.dtype() == logits.dtype(), op,
                ": class_weight must be a [", classes, "] tensor of dtype ", logits.dtype(), ", got ",
                describe(class_weight_in));
    EMBER_CHECK(!detail::needs_grad(class_weight_in), op, ": class_weight gets no gradient; detach it first");
    class_weight = class_weight_in.contiguous();
  }
  EMBER_CHECK(label_smoothing >= 0.0 && label_smoothing <= 1.0, op, ": label_smoothing must be in [0, 1], got ",
              label_smoothing);
  const Tensor rows = logits.contiguous();
  const Tensor label_values = labels.contiguous();
  // Ignored rows may hold any value; the others must name a class. CPU labels are checked here;
  // the CUDA kernel checks its own, so a GPU step does not wait to read the labels back.
  if (device.is_cpu()) {
    const std::int64_t* values = label_values.data<std::int64_t>();
    for (std::int64_t r = 0; r < label_values.numel(); ++r) {
      EMBER_CHECK(values[r] == ignore_index || (values[r] >= 0 && values[r] < classes), op, ": label ", values[r],
                  " is out of range for ", classes, " classes (logits ", describe(logits), ")");
    }
  }
  const kernels::CrossEntropyProblem problem{rows.size(0), classes, label_values.data<std::int64_t>(),
                                             class_weight.defined() ? class_weight.data_ptr() : nullptr,
                                             ignore_index, label_smoothing};
  Tensor losses = empty({rows.size(0)}, {.dtype = logits.dtype(), .device = device});
  Tensor log_sum_exp = empty({rows.size(0)},
                             {.dtype = logits.dtype() == DType::f64 ? DType::f64 : DType::f32, .device = device});
  EMBER_KERNEL(op, device, cross_entropy, logits.dtype(), problem, rows.data_ptr(), losses.data_ptr(),
               log_sum_exp.data_ptr());
  if (detail::needs_grad(logits)) {
    // The saved tensors keep the buffers `problem` points into alive.
    record_op(op, losses, {logits},
              [op, problem, saved_rows = SavedTensor(rows), label_values, class_weight, log_sum_exp](
                  const Tensor& grad, const Node&) {
                const Tensor& rows = saved_rows.get();
                const Tensor dy = grad.contiguous();
                Tensor grad_logits = empty_like(rows);
                EMBER_KERNEL(op, rows.device(), cross_entropy_backward, rows.dtype(), problem, dy.data_ptr(),
                             rows.data_ptr(), log_sum_exp.data_ptr(), grad_logits.data_ptr());
                return Grads{grad_logits};
              });
  }
  return losses;
}

}  // namespace ember
