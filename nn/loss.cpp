#include "nn/loss.h"

#include "core/autocast.h"
#include "core/ops.h"

namespace ember::nn::functional {

namespace {

Tensor reduce(const Tensor& losses, Reduction reduction) {
  switch (reduction) {
    case Reduction::none: return losses;
    case Reduction::sum: return sum(losses);
    case Reduction::mean: return mean(losses);
  }
  return losses;
}

void check_same_shape(const char* op, const Tensor& input, const Tensor& target) {
  EMBER_CHECK(input.defined() && target.defined() && input.sizes() == target.sizes(), op, ": input ", describe(input),
              " and target ", describe(target), " must have the same shape");
}

// A classification loss's predictions as rows: input [N, C, d...] -> rows [M, C], target -> labels [M].
struct ClassRows {
  Tensor rows, labels;
};

// A classifier's input [N, C] or [N, C, d1, ...] and its i64 target [N] or [N, d1, ...].
void check_class_target(const char* op, const Tensor& input, const Tensor& target) {
  EMBER_CHECK(input.defined() && target.defined(), op, ": got an undefined tensor");
  EMBER_CHECK(input.dim() >= 2 && is_floating(input.dtype()), op,
              ": input must be a floating [N, C] or [N, C, d1, ...] tensor, got ", describe(input));
  Shape expected = input.sizes();
  expected.erase(expected.begin() + 1);
  EMBER_CHECK(target.dtype() == DType::i64 && target.sizes() == expected, op, ": target must be an i64 tensor of shape ",
              to_string(expected), " for input ", describe(input), ", got ", describe(target));
}

void check_class_weight(const char* op, const Tensor& input, const Tensor& weight) {
  if (!weight.defined()) return;
  const std::int64_t classes = input.size(1);
  EMBER_CHECK(weight.sizes() == Shape{classes} && weight.dtype() == input.dtype(), op, ": weight must be a [", classes,
              "] tensor of dtype ", input.dtype(), ", got ", describe(weight));
}

ClassRows class_rows(const char* op, const Tensor& input, const Tensor& target, const ClassificationLossOptions& options) {
  check_class_target(op, input, target);
  check_class_weight(op, input, options.weight);
  const std::int64_t classes = input.size(1);
  // Classes last, one row per prediction: [N, C, d...] -> [M, C].
  Shape order{0};
  for (std::int64_t d = 2; d < input.dim(); ++d) order.push_back(d);
  order.push_back(1);
  return {input.permute(order).reshape({-1, classes}), target.reshape({-1})};
}

// Each row's weight in the mean: the weight of its class (1 without weights), 0 where ignored.
// Also returns the labels with ignored entries replaced by class 0, safe to index with (the
// indexing ops reject labels out of range).
struct RowWeights {
  Tensor weights, safe_labels;
};

RowWeights row_weights(const ClassRows& terms, const ClassificationLossOptions& options) {
  const TensorOptions label_options{.dtype = DType::i64, .device = terms.labels.device()};
  const Tensor counted = ne(terms.labels, scalar_tensor(static_cast<double>(options.ignore_index), label_options));
  const Tensor safe_labels = where(counted, terms.labels, scalar_tensor(0, label_options));
  Tensor weights = to(counted, terms.rows.dtype());
  if (options.weight.defined()) weights = weights * index_select(options.weight, 0, safe_labels);
  return {weights, safe_labels};
}

Tensor reduce_rows(const Tensor& losses, const Tensor& weights, Reduction reduction, const Shape& target_sizes) {
  switch (reduction) {
    case Reduction::none: return losses.reshape(target_sizes);
    case Reduction::sum: return sum(losses);
    case Reduction::mean: return sum(losses) / sum(weights);
  }
  return losses;
}

}  // namespace

// Losses run in f32 under autocast (core/autocast.h): their inputs are cast up first.
using detail::autocast_f32;

Tensor nll_loss(const Tensor& log_probs_in, const Tensor& target, const ClassificationLossOptions& options) {
  const Tensor log_probs = autocast_f32(log_probs_in);
  EMBER_CHECK(options.label_smoothing == 0.0, "nll_loss: label_smoothing applies to cross_entropy only");
  const ClassRows terms = class_rows("nll_loss", log_probs, target, options);
  const RowWeights weights = row_weights(terms, options);
  const Tensor picked = gather(terms.rows, 1, weights.safe_labels.unsqueeze(1)).squeeze(1);
  return reduce_rows(-(picked * weights.weights), weights.weights, options.reduction, target.sizes());
}

namespace {

// cross_entropy against class probabilities (soft labels, mixup): -sum_c w_c t_c log_softmax(x)_c
// per prediction, composed of ops (so the target gets its gradient too), the mean over predictions.
Tensor probability_cross_entropy(const Tensor& logits, const Tensor& target_in, const ClassificationLossOptions& options) {
  const char* op = "cross_entropy";
  const Tensor target = autocast_f32(target_in);
  EMBER_CHECK(logits.dim() >= 2 && target.sizes() == logits.sizes() && target.dtype() == logits.dtype(), op,
              ": a floating target holds class probabilities and must have the logits' shape and dtype: logits ",
              describe(logits), ", target ", describe(target));
  EMBER_CHECK(options.ignore_index < 0, op, ": ignore_index ", options.ignore_index,
              " is not supported for class-probability targets (as in PyTorch)");
  check_class_weight(op, logits, options.weight);
  const std::int64_t classes = logits.size(1);
  Shape class_shape(static_cast<std::size_t>(logits.dim()), 1);
  class_shape[1] = classes;
  Tensor probabilities = target;
  const double s = options.label_smoothing;
  EMBER_CHECK(s >= 0 && s <= 1, op, ": label_smoothing must be in [0, 1], got ", s);
  if (s > 0) probabilities = probabilities * (1.0 - s) + s / static_cast<double>(classes);
  if (options.weight.defined()) probabilities = probabilities * autocast_f32(options.weight).view(class_shape);
  return reduce(-sum(probabilities * log_softmax(logits, 1), {1}), options.reduction);
}

}  // namespace

// The fused softmax_cross_entropy op does the per-row work; here only the layout and reduction.
Tensor cross_entropy(const Tensor& logits_in, const Tensor& target, const ClassificationLossOptions& options) {
  const Tensor logits = autocast_f32(logits_in);
  if (target.defined() && is_floating(target.dtype())) return probability_cross_entropy(logits, target, options);
  const ClassRows terms = class_rows("cross_entropy", logits, target, options);
  const Tensor losses =
      softmax_cross_entropy(terms.rows, terms.labels, options.weight, options.ignore_index, options.label_smoothing);
  if (options.reduction != Reduction::mean) return reduce_rows(losses, Tensor(), options.reduction, target.sizes());
  return reduce_rows(losses, row_weights(terms, options).weights, options.reduction, target.sizes());
}

Tensor mse_loss(const Tensor& input_in, const Tensor& target_in, Reduction reduction) {
  const Tensor input = autocast_f32(input_in), target = autocast_f32(target_in);
  check_same_shape("mse_loss", input, target);
  const Tensor difference = input - target;
  return reduce(difference * difference, reduction);
}

Tensor l1_loss(const Tensor& input_in, const Tensor& target_in, Reduction reduction) {
  const Tensor input = autocast_f32(input_in), target = autocast_f32(target_in);
  check_same_shape("l1_loss", input, target);
  return reduce(abs(input - target), reduction);
}

Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target, Reduction reduction) {
  return binary_cross_entropy_with_logits(logits, target, BCEWithLogitsOptions{.reduction = reduction});
}

Tensor binary_cross_entropy_with_logits(const Tensor& logits_in, const Tensor& target_in,
                                        const BCEWithLogitsOptions& options) {
  const char* op = "binary_cross_entropy_with_logits";
  const Tensor logits = autocast_f32(logits_in), target = autocast_f32(target_in);
  check_same_shape(op, logits, target);
  Tensor losses = sigmoid_cross_entropy(logits, target);  // (1 - y) x + softplus(-x)
  if (options.pos_weight.defined()) {
    const Tensor pos_weight = autocast_f32(options.pos_weight);
    EMBER_CHECK(pos_weight.dim() == 1 && logits.dim() >= 1 && pos_weight.size(0) == logits.size(-1), op,
                ": pos_weight of shape ", to_string(pos_weight.sizes()), " must hold one weight per class (the last dim ",
                "of the logits ", to_string(logits.sizes()), ")");
    // pos_weight scales the positive term y * softplus(-x): add (pos_weight - 1) of it, where
    // softplus(-x) is the loss of x against a target of 1.
    losses = losses + (pos_weight - 1.0) * target * sigmoid_cross_entropy(logits, ones_like(logits));
  }
  if (options.weight.defined()) losses = losses * autocast_f32(options.weight);
  return reduce(losses, options.reduction);
}

Tensor dice_loss(const Tensor& logits_in, const Tensor& target, const DiceLossOptions& options) {
  const Tensor logits = autocast_f32(logits_in);
  check_class_target("dice_loss", logits, target);
  EMBER_CHECK(options.smooth >= 0, "dice_loss: smooth must be >= 0, got ", options.smooth);
  const std::int64_t classes = logits.size(1);
  // Class along dim 1 and the pixel dims after it: [N, C, d...] against target [N, 1, d...].
  const Tensor labels = target.unsqueeze(1);
  Shape class_shape(static_cast<std::size_t>(logits.dim()), 1);
  class_shape[1] = classes;
  const TensorOptions label_options{.dtype = DType::i64, .device = target.device()};
  const Tensor counted = to(ne(labels, scalar_tensor(static_cast<double>(options.ignore_index), label_options)),
                            logits.dtype());
  const Tensor one_hot = to(eq(labels, arange(classes, label_options).view(class_shape)), logits.dtype()) * counted;
  const Tensor probabilities = softmax(logits, 1) * counted;
  Shape pixel_dims{0};
  for (std::int64_t d = 2; d < logits.dim(); ++d) pixel_dims.push_back(d);
  const Tensor overlap = sum(probabilities * one_hot, pixel_dims);
  const Tensor total = sum(probabilities, pixel_dims) + sum(one_hot, pixel_dims);
  const Tensor dice = (2.0 * overlap + options.smooth) / (total + options.smooth);
  return 1.0 - mean(dice);
}

}  // namespace ember::nn::functional
