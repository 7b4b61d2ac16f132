#include "trainer/train_module.h"

#include <limits>

#include "core/autograd/grad_mode.h"
#include "core/ops.h"

namespace ember::trainer {

void TrainModule::validation_step(const data::Batch&, std::int64_t) {}
void TrainModule::test_step(const data::Batch&, std::int64_t) {}

Tensor TrainModule::predict_step(const data::Batch& batch, std::int64_t) {
  EMBER_CHECK(!batch.empty(), type_name(), ": predict_step got an empty batch");
  return forward(batch[0]);
}

void TrainModule::log(const std::string& name, double value, std::int64_t batch_size) {
  EMBER_CHECK(batch_size > 0, type_name(), ": log('", name, "') needs a positive batch_size, got ", batch_size);
  Accumulator& entry = logged_[name];
  entry.weighted_sum += value * static_cast<double>(batch_size);
  entry.weight += static_cast<double>(batch_size);
}

void TrainModule::log(const std::string& name, const Tensor& value, std::int64_t batch_size) {
  EMBER_CHECK(batch_size > 0, type_name(), ": log('", name, "') needs a positive batch_size, got ", batch_size);
  EMBER_CHECK(value.defined() && value.numel() == 1, type_name(), ": log('", name,
              "') needs a one-element tensor, got ", describe(value));
  NoGradGuard no_grad;
  Accumulator& entry = logged_[name];
  // In f64, like the host sums, whatever the value's dtype (a bf16 loss included).
  const Tensor weighted = value.detach().reshape({}).to(DType::f64) * static_cast<double>(batch_size);
  entry.device_weighted_sum = entry.device_weighted_sum.defined() ? entry.device_weighted_sum + weighted : weighted;
  entry.weight += static_cast<double>(batch_size);
}

void TrainModule::log_ratio(const std::string& name, double numerator, double denominator) {
  EMBER_CHECK(denominator >= 0, type_name(), ": log_ratio('", name, "') needs a denominator >= 0, got ", denominator);
  Accumulator& entry = logged_[name];
  entry.weighted_sum += numerator;
  entry.weight += denominator;
}

double TrainModule::Accumulator::total_weighted_sum() const {
  return weighted_sum + (device_weighted_sum.defined() ? device_weighted_sum.item<double>() : 0.0);
}

Metrics TrainModule::take_epoch_metrics() {
  Metrics metrics;
  for (const auto& [name, entry] : logged_) {
    metrics[name] =
        entry.weight > 0 ? entry.total_weighted_sum() / entry.weight : std::numeric_limits<double>::quiet_NaN();
  }
  logged_.clear();
  derive_epoch_metrics(metrics);
  return metrics;
}

void TrainModule::derive_epoch_metrics(Metrics&) const {}

}  // namespace ember::trainer
