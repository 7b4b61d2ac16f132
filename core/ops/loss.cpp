#include "core/ops/loss.h"

#include "core/autograd/grad_mode.h"
#include "core/ops/elementwise.h"
#include "core/ops/op_utils.h"

namespace ember {

Tensor sigmoid_cross_entropy(const Tensor& logits, const Tensor& target) {
  const char* op = "sigmoid_cross_entropy";
  detail::common_device(op, {&logits, &target});
  detail::check_floating(op, logits);
  detail::check_same_dtype(op, logits, target);
  EMBER_CHECK(logits.sizes() == target.sizes(), op, ": logits ", describe(logits), " and target ", describe(target),
              " must have the same shape");
  Tensor losses;
  {
    NoGradGuard no_grad;  // the forward's pieces record nothing: the op has its own backward
    losses = relu(logits) - logits * target + log(1.0 + exp(-abs(logits)));
  }
  if (detail::needs_grad(logits, target)) {
    record_op(op, losses, {logits, target}, [saved_logits = SavedTensor(logits), saved_target = SavedTensor(target)](
                                                const Tensor& g, const Node& n) {
      const Tensor& x = saved_logits.get();
      return std::vector<Tensor>{n.needs_input_grad(0) ? g * (sigmoid(x) - saved_target.get()) : Tensor(),
                                 n.needs_input_grad(1) ? -(g * x) : Tensor()};
    });
  }
  return losses;
}

}  // namespace ember
