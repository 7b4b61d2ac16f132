#pragma once
// Strategy: how the Trainer spreads training over processes (Lightning's strategy argument).
//   "single"  one process
//   "ddp"     DistributedDataParallel: each rank trains on its shard of every batch; gradients
//             are averaged during backward
//   "zero1"   ddp + the optimizer state sharded across ranks (ZeroRedundancyOptimizer stage 1)
//   "zero2"   the gradients sharded too (stage 2): reduce-scattered after backward, no DDP
// The ranks come from the launcher's environment (ember-run, torchrun-style variables); without
// one, a distributed strategy runs as a world of one. Every rank runs the same loop; metrics are
// reduced across ranks, and only rank 0 prints, logs and writes checkpoints.
#include <chrono>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "data/data_loader.h"
#include "distributed/ddp.h"
#include "distributed/environment.h"
#include "distributed/zero.h"
#include "trainer/train_module.h"

namespace ember::trainer {

class Strategy {
 public:
  // Checks the name; joins no group yet.
  Strategy(std::string name, std::chrono::milliseconds timeout);

  const std::string& name() const { return name_; }
  bool is_distributed() const { return name_ != "single"; }
  const distributed::WorldInfo& world() const { return world_; }
  bool is_global_zero() const { return world_.rank == 0; }

  // Joins the process group (once), wraps the model (DDP) and the optimizer (ZeRO), and shards
  // the loaders: training with padding to equal shares, evaluation without (each sample once).
  void setup(TrainModule& module, optim::Optimizer& optimizer, const Device& device, data::DataLoader& train,
             data::DataLoader* validation);
  // Shards an evaluation loader once the group exists (validate / test after fit).
  void shard_for_evaluation(data::DataLoader& loader);

  // The optimizer the training step zeroes, unscales and steps: ZeRO's, or the module's own.
  optim::Optimizer& stepping_optimizer(optim::Optimizer& module_optimizer);
  const optim::Optimizer& stepping_optimizer(const optim::Optimizer& module_optimizer) const;
  // Before each training forward: rank 0's buffers to every rank (DDP's broadcast_buffers).
  void before_training_step();
  // Runs `backward` for a micro-batch; those before the last of a window skip DDP's all-reduce.
  template <class Backward>
  void backward(bool window_ends, Backward&& backward) {
    if (ddp_ && !window_ends) {
      auto no_sync = ddp_->no_sync();
      backward();
    } else {
      backward();
    }
  }
  // At a window's end, before unscaling: ZeRO-2's reduce-scatter of the gradients.
  void after_window_backward();
  // clip_grad_norm_ over the whole model, also when ZeRO-2 shards the gradients.
  Tensor clip_grad_norm_(const std::vector<Tensor>& params, double max_norm);
  // The largest of every rank's `value` (this rank's alone without a group).
  double max_over_processes(double value) const;
  // The module's epoch metrics, averaged over every rank's samples (weighted sums and weights
  // are summed across ranks before dividing); a name some rank did not log counts zero there.
  Metrics take_epoch_metrics(TrainModule& module);

 private:
  // Gives this rank its share of the loader's batches: training ones padded to equal shares,
  // evaluation ones without padding (each sample once).
  void shard(data::DataLoader& loader, bool training) const;
  // The union of the metric names every rank logged.
  std::set<std::string> metric_names_of_every_rank(const TrainModule::LogState& logs) const;

  std::string name_;
  std::chrono::milliseconds timeout_;
  distributed::WorldInfo world_;
  std::shared_ptr<distributed::ProcessGroup> group_;
  std::unique_ptr<distributed::DistributedDataParallel> ddp_;
  std::unique_ptr<distributed::ZeroRedundancyOptimizer> zero_;
};

}  // namespace ember::trainer
