#include "nn/loss.h"

#include "core/ops.h"

namespace ember::nn::functional {

Tensor cross_entropy(const Tensor& logits, const Tensor& target) {
  EMBER_CHECK(logits.defined() && target.defined(), "cross_entropy: got an undefined tensor");
  EMBER_CHECK(logits.dim() == 2 && is_floating(logits.dtype()), "cross_entropy: logits must be a floating [N, C] tensor, got ",
              describe(logits));
  EMBER_CHECK(target.dim() == 1 && target.dtype() == DType::i64 && target.size(0) == logits.size(0),
              "cross_entropy: target must be an i64 tensor of shape [", logits.size(0), "] for logits ",
              describe(logits), ", got ", describe(target));
  const std::int64_t classes = logits.size(1);
  if (target.numel() > 0) {
    const auto low = min(target).item<std::int64_t>(), high = max(target).item<std::int64_t>();
    EMBER_CHECK(low >= 0 && high < classes, "cross_entropy: target class ", low < 0 ? low : high,
                " is out of range for ", classes, " classes (logits ", describe(logits), ")");
  }
  // -log p(target) = -log_softmax(logits)[target], picked out row by row with gather.
  const Tensor log_probs = log_softmax(logits, 1);
  return neg(mean(gather(log_probs, 1, target.unsqueeze(1))));
}

}  // namespace ember::nn::functional
