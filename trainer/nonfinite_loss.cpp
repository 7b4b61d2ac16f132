#include "trainer/nonfinite_loss.h"

#include <cmath>
#include <limits>

#include "core/autograd/grad_mode.h"
#include "core/ops.h"

namespace ember::trainer {

namespace {

[[noreturn]] void fail_nonfinite(double value, std::int64_t step, std::int64_t epoch, std::int64_t batch) {
  fail("Trainer: the training loss is ", value, " at step ", step, " (epoch ", epoch, ", batch ", batch,
       "); the run has diverged or the batch is broken. Lower the learning rate or clip the gradients, or set "
       "TrainerOptions::nonfinite_loss to skip such batches");
}

}  // namespace

bool NonfiniteLossWatch::skips(const Tensor& loss, std::int64_t epoch, std::int64_t batch, std::int64_t step) {
  if (action_ == NonfiniteLoss::ignore) return false;
  NoGradGuard no_grad;
  if (action_ == NonfiniteLoss::skip) return !std::isfinite(loss.item<double>());
  // On the loss's device: finite means |x| < inf (false for NaN too); keep the first bad record.
  const Tensor value = loss.detach().reshape({1}).to(DType::f64);
  const Tensor finite = to(lt(abs(value), std::numeric_limits<double>::infinity()), DType::f64);
  if (!record_.defined()) record_ = full({4}, -1.0, {.dtype = DType::f64, .device = loss.device()});
  const Tensor first = to(lt(record_.slice(0, 0, 1), 0.0), DType::f64);
  const Tensor take = gt((1.0 - finite) * first, 0.5);
  const TensorOptions options{.dtype = DType::f64, .device = loss.device()};
  const Tensor candidate = cat({full({1}, static_cast<double>(step), options),
                                full({1}, static_cast<double>(epoch), options),
                                full({1}, static_cast<double>(batch), options), value});
  record_ = where(take, candidate, record_);
  return false;
}

void NonfiniteLossWatch::check() {
  if (!record_.defined()) return;
  const std::vector<double> record = record_.to_vector<double>();
  if (record[0] >= 0) {
    fail_nonfinite(record[3], static_cast<std::int64_t>(record[0]), static_cast<std::int64_t>(record[1]),
                   static_cast<std::int64_t>(record[2]));
  }
}

}  // namespace ember::trainer
