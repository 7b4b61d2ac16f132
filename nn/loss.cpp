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

// Per-prediction terms of nll_loss: the inputs as rows [M, C], each row's weighted loss and
// weight, and whether it counts (1) or its target is ignore_index (0).
struct NllRows {
  Tensor rows, losses, weights, counted;
};

NllRows nll_rows(const char* op, const Tensor& log_probs, const Tensor& target, const ClassificationLossOptions& options) {
  EMBER_CHECK(log_probs.defined() && target.defined(), op, ": got an undefined tensor");
  EMBER_CHECK(log_probs.dim() >= 2 && is_floating(log_probs.dtype()), op,
              ": input must be a floating [N, C] or [N, C, d1, ...] tensor, got ", describe(log_probs));
  Shape expected = log_probs.sizes();
  expected.erase(expected.begin() + 1);
  EMBER_CHECK(target.dtype() == DType::i64 && target.sizes() == expected, op, ": target must be an i64 tensor of shape ",
              to_string(expected), " for input ", describe(log_probs), ", got ", describe(target));
  const std::int64_t classes = log_probs.size(1);
  if (options.weight.defined()) {
    EMBER_CHECK(options.weight.sizes() == Shape{classes} && options.weight.dtype() == log_probs.dtype(), op,
                ": weight must be a [", classes, "] tensor of dtype ", log_probs.dtype(), ", got ",
                describe(options.weight));
  }
  // Classes last, one row per prediction: [N, C, d...] -> [M, C].
  Shape order{0};
  for (std::int64_t d = 2; d < log_probs.dim(); ++d) order.push_back(d);
  order.push_back(1);
  const Tensor rows = log_probs.permute(order).reshape({-1, classes});
  const Tensor labels = target.reshape({-1});

  const Tensor counted = ne(labels, scalar_tensor(static_cast<double>(options.ignore_index), {.dtype = DType::i64}));
  const Tensor safe_labels = where(counted, labels, scalar_tensor(0, {.dtype = DType::i64}));
  if (labels.numel() > 0) {
    const auto low = min(safe_labels).item<std::int64_t>(), high = max(safe_labels).item<std::int64_t>();
    EMBER_CHECK(low >= 0 && high < classes, op, ": target class ", low < 0 ? low : high, " is out of range for ",
                classes, " classes (input ", describe(log_probs), ")");
  }
  const Tensor counted_values = to(counted, log_probs.dtype());
  Tensor weights = counted_values;
  if (options.weight.defined()) weights = mul(weights, index_select(options.weight, 0, safe_labels));
  const Tensor picked = gather(rows, 1, safe_labels.unsqueeze(1)).squeeze(1);
  return {rows, neg(mul(picked, weights)), weights, counted_values};
}

Tensor reduce_rows(const Tensor& losses, const Tensor& weights, Reduction reduction, const Shape& target_sizes) {
  switch (reduction) {
    case Reduction::none: return losses.reshape(target_sizes);
    case Reduction::sum: return sum(losses);
    case Reduction::mean: return div(sum(losses), sum(weights));
  }
  return losses;
}

}  // namespace

// Losses run in f32 under autocast (core/autocast.h): their inputs are cast up first.
using detail::autocast_f32;

Tensor nll_loss(const Tensor& log_probs_in, const Tensor& target, const ClassificationLossOptions& options) {
  const Tensor log_probs = autocast_f32(log_probs_in);
  EMBER_CHECK(options.label_smoothing == 0.0, "nll_loss: label_smoothing applies to cross_entropy only");
  const NllRows terms = nll_rows("nll_loss", log_probs, target, options);
  return reduce_rows(terms.losses, terms.weights, options.reduction, target.sizes());
}

Tensor cross_entropy(const Tensor& logits_in, const Tensor& target, const ClassificationLossOptions& options) {
  const Tensor logits = autocast_f32(logits_in);
  EMBER_CHECK(logits.defined() && logits.dim() >= 2, "cross_entropy: logits must be [N, C] or [N, C, d1, ...], got ",
              describe(logits));
  const double smoothing = options.label_smoothing;
  EMBER_CHECK(smoothing >= 0.0 && smoothing <= 1.0, "cross_entropy: label_smoothing must be in [0, 1], got ", smoothing);
  const NllRows terms = nll_rows("cross_entropy", log_softmax(logits, 1), target, options);
  Tensor losses = terms.losses;
  if (smoothing > 0.0) {
    // The uniform part: -sum_c w_c log p_c per counted row (PyTorch weighs it by the class
    // weights too), mixed in with weight s / C.
    const Tensor weighted_rows = options.weight.defined() ? mul(terms.rows, options.weight) : terms.rows;
    const Tensor uniform = neg(mul(sum(weighted_rows, {1}), terms.counted));
    const double classes = static_cast<double>(logits.size(1));
    losses = add(mul(losses, 1.0 - smoothing), mul(uniform, smoothing / classes));
  }
  return reduce_rows(losses, terms.weights, options.reduction, target.sizes());
}

Tensor mse_loss(const Tensor& input_in, const Tensor& target_in, Reduction reduction) {
  const Tensor input = autocast_f32(input_in), target = autocast_f32(target_in);
  check_same_shape("mse_loss", input, target);
  const Tensor difference = sub(input, target);
  return reduce(mul(difference, difference), reduction);
}

Tensor l1_loss(const Tensor& input_in, const Tensor& target_in, Reduction reduction) {
  const Tensor input = autocast_f32(input_in), target = autocast_f32(target_in);
  check_same_shape("l1_loss", input, target);
  return reduce(abs(sub(input, target)), reduction);
}

Tensor binary_cross_entropy_with_logits(const Tensor& logits_in, const Tensor& target_in, Reduction reduction) {
  const Tensor logits = autocast_f32(logits_in), target = autocast_f32(target_in);
  check_same_shape("binary_cross_entropy_with_logits", logits, target);
  const Tensor losses = add(sub(relu(logits), mul(logits, target)), log(add(exp(neg(abs(logits))), 1.0)));
  return reduce(losses, reduction);
}

}  // namespace ember::nn::functional
