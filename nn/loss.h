#pragma once
// Loss functions, with PyTorch's semantics.
#include <cstdint>

#include "core/tensor.h"

namespace ember::nn::functional {

enum class Reduction { none, mean, sum };

struct ClassificationLossOptions {
  Tensor weight = Tensor();          // per-class weights [C], or undefined for all ones
  std::int64_t ignore_index = -100;  // targets equal to it add nothing and are not counted
  Reduction reduction = Reduction::mean;
  // cross_entropy only: the target becomes (1 - s) one_hot + s / C uniform, PyTorch's rule
  // (ignored targets still add nothing; the mean divides by the same summed weights).
  double label_smoothing = 0.0;
};

// -log_probs[target] per element. log_probs is [N, C] or [N, C, d1, ...] with target [N] or
// [N, d1, ...] (i64). The mean divides by the summed weights of the counted targets.
Tensor nll_loss(const Tensor& log_probs, const Tensor& target, const ClassificationLossOptions& options = {});
// nll_loss(log_softmax(logits, 1), target): the loss of a classifier from its raw logits. A
// floating target of the logits' shape holds class probabilities instead (soft labels, mixup):
// the loss of a prediction is -sum_c weight_c t_c log_softmax(logits)_c (t smoothed first when
// label_smoothing is set), the mean divides by the number of predictions, ignore_index must stay
// unset; the target gets a gradient too. PyTorch's rules.
Tensor cross_entropy(const Tensor& logits, const Tensor& target, const ClassificationLossOptions& options = {});

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::mean);
Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::mean);
// Binary cross-entropy on logits, computed as max(x, 0) - x y + log(1 + exp(-|x|)) so that no
// exp overflows.
Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target,
                                        Reduction reduction = Reduction::mean);

// PyTorch's weight and pos_weight: the loss of each element is
//   -weight * (pos_weight * y * log sigmoid(x) + (1 - y) * log(1 - sigmoid(x)))
// with `weight` broadcast to the logits' shape and `pos_weight` (one per class, the last dim)
// weighing the positive term: > 1 for sparse positives, as a curve's pixels in a segmentation.
// Either may be undefined (all ones). The mean is over all elements, as PyTorch's.
struct BCEWithLogitsOptions {
  Tensor weight = Tensor();
  Tensor pos_weight = Tensor();
  Reduction reduction = Reduction::mean;
};
Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target, const BCEWithLogitsOptions& options);

struct DiceLossOptions {
  std::int64_t ignore_index = -100;  // pixels whose target is this count nowhere
  double smooth = 1.0;               // keeps an absent class (no pixels, none predicted) at dice 1
};

// The soft Dice loss of a segmenter (Milletari et al. 2016). With p = softmax(logits, 1) and y
// the one-hot target, for each class c over every counted pixel of the batch:
//   dice_c = (2 sum p_c y_c + smooth) / (sum p_c + sum y_c + smooth),   loss = 1 - mean_c dice_c.
// logits [N, C, d1, ...] with target [N, d1, ...] (i64), like cross_entropy. Every class counts
// in the mean, the background too. Runs in f32 under autocast.
Tensor dice_loss(const Tensor& logits, const Tensor& target, const DiceLossOptions& options = {});

}  // namespace ember::nn::functional
