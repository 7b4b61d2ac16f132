#include "trainer/strategy.h"

#include <set>
#include <utility>

#include "core/ops/factory.h"
#include "distributed/init.h"
#include "optim/clip_grad.h"

namespace ember::trainer {

Strategy::Strategy(std::string name, std::chrono::milliseconds timeout) : name_(std::move(name)), timeout_(timeout) {
  EMBER_CHECK(name_ == "single" || name_ == "ddp" || name_ == "zero1" || name_ == "zero2", "Trainer: strategy '", name_,
              "' is not supported (expected \"single\", \"ddp\", \"zero1\" or \"zero2\")");
  if (is_distributed()) world_ = distributed::read_world_from_environment();
}

void Strategy::setup(TrainModule& module, optim::Optimizer& optimizer, const Device& device, data::DataLoader& train,
                     data::DataLoader* validation) {
  if (!is_distributed()) return;
  if (!group_) {
    group_ = distributed::init_process_group({.backend = device.is_cuda() ? "nccl" : "gloo", .timeout = timeout_});
  }
  ddp_.reset();
  zero_.reset();
  if (name_ != "zero2") {
    ddp_ = std::make_unique<distributed::DistributedDataParallel>(module.parameters(), module.buffers(), group_);
  }
  if (name_ != "ddp") {
    zero_ = std::make_unique<distributed::ZeroRedundancyOptimizer>(optimizer, group_, name_ == "zero1" ? 1 : 2);
  }
  shard(train, /*training=*/true);
  if (validation != nullptr) shard_for_evaluation(*validation);
}

// Lightning's use_distributed_sampler: a loader with a sampler of its own is left alone; one
// with a batch sampler gets a share of its batches (once); the others a DistributedSampler.
void Strategy::shard(data::DataLoader& loader, bool training) const {
  const data::DataLoaderOptions& options = loader.options();
  if (options.sampler) return;
  if (options.batch_sampler) {
    if (dynamic_cast<const data::DistributedBatchSampler*>(options.batch_sampler.get()) == nullptr) {
      loader.set_batch_sampler(std::make_shared<data::DistributedBatchSampler>(options.batch_sampler, world_.world_size,
                                                                               world_.rank, /*pad=*/training));
    }
    return;
  }
  const data::DistributedSamplerOptions sharding =
      training ? data::DistributedSamplerOptions{.shuffle = options.shuffle, .seed = options.seed}
               : data::DistributedSamplerOptions{.shuffle = false, .pad = false};
  loader.set_sampler(std::make_shared<data::DistributedSampler>(world_.world_size, world_.rank, sharding));
}

void Strategy::shard_for_evaluation(data::DataLoader& loader) {
  if (group_) shard(loader, /*training=*/false);
}

optim::Optimizer& Strategy::stepping_optimizer(optim::Optimizer& module_optimizer) {
  return zero_ ? *zero_ : module_optimizer;
}

const optim::Optimizer& Strategy::stepping_optimizer(const optim::Optimizer& module_optimizer) const {
  return zero_ ? *zero_ : module_optimizer;
}

void Strategy::before_training_step() {
  if (ddp_) ddp_->broadcast_buffers();
}

void Strategy::after_window_backward() {
  if (zero_ && zero_->stage() == 2) zero_->reduce_gradients();
}

Tensor Strategy::clip_grad_norm_(const std::vector<Tensor>& params, double max_norm) {
  if (zero_) return zero_->clip_grad_norm_(max_norm);
  return optim::clip_grad_norm_(params, max_norm);
}

double Strategy::max_over_processes(double value) const {
  if (!group_ || group_->size() == 1) return value;
  return group_->all_reduce_host(from_vector<double>({value}), distributed::ReduceOp::max).to_vector<double>()[0];
}

std::set<std::string> Strategy::metric_names_of_every_rank(const TrainModule::LogState& logs) const {
  // Each rank's names as one '\n'-separated byte string (starting with '\n', so none is empty),
  // their lengths first, then the strings end to end.
  std::string mine = "\n";
  for (const auto& entry : logs) mine += entry.first + '\n';
  const Tensor length = scalar_tensor(static_cast<double>(mine.size()), {.dtype = DType::i64}).reshape({1});
  const std::vector<std::int64_t> lengths = group_->all_gather_host(length).to_vector<std::int64_t>();
  const Tensor bytes = from_vector(std::vector<std::uint8_t>(mine.begin(), mine.end()));
  const std::vector<std::uint8_t> all = group_->all_gather_host(bytes, lengths).to_vector<std::uint8_t>();
  std::set<std::string> names;
  std::string name;
  for (const std::uint8_t byte : all) {
    if (byte != '\n') {
      name += static_cast<char>(byte);
    } else if (!name.empty()) {
      names.insert(std::exchange(name, {}));
    }
  }
  return names;
}

Metrics Strategy::take_epoch_metrics(TrainModule& module) {
  if (!group_ || group_->size() == 1) return module.take_epoch_metrics();
  const TrainModule::LogState logs = module.set_aside_logs();
  // Ranks may have logged different names (one whose share of an evaluation set was empty logged
  // none): the sums run over the union, with zeros for what a rank did not log.
  const std::set<std::string> names = metric_names_of_every_rank(logs);
  const Tensor sums = zeros({2 * static_cast<std::int64_t>(names.size())}, {.dtype = DType::f64});
  double* values = sums.data<double>();
  for (const std::string& name : names) {
    const auto found = logs.find(name);
    *values++ = found == logs.end() ? 0.0 : found->second.total_weighted_sum();
    *values++ = found == logs.end() ? 0.0 : found->second.weight;
  }
  const Tensor totals = group_->all_reduce_host(sums, distributed::ReduceOp::sum);
  // The module turns the reduced sums into metrics, as it does for one process.
  TrainModule::LogState reduced_logs;
  const double* reduced = totals.data<double>();
  for (const std::string& name : names) {
    reduced_logs[name] = {.weighted_sum = reduced[0], .weight = reduced[1], .device_weighted_sum = Tensor()};
    reduced += 2;
  }
  module.restore_logs(std::move(reduced_logs));
  return module.take_epoch_metrics();
}

}  // namespace ember::trainer
