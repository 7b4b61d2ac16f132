#pragma once
// DistributedDataParallel: every rank trains a replica of the model on its own shard of each
// batch; gradients are averaged across ranks during backward, so every replica takes the same
// optimizer step and the replicas stay identical.
//
// How (PyTorch's design): at construction rank 0's parameters and buffers are copied to every
// rank. Gradients are grouped into buckets of about bucket_cap_mb, in reverse registration order
// (roughly the order backward produces them; the first bucket is smaller so communication starts
// early). A hook on each parameter copies its gradient into its bucket once the gradient is
// final; when a bucket is full its all-reduce (average) starts on the communication thread while
// backward goes on computing the rest. At the end of backward the averaged gradients are copied
// back into .grad. Buckets are reduced in the same order on every rank.
//
// The model is not wrapped: forward is the module's own. DDP only watches the parameters, so it
// takes them (and the buffers) as tensors: module.parameters(), module.buffers().
#include <cstdint>
#include <memory>
#include <vector>

#include "distributed/process_group.h"

namespace ember::distributed {

struct DDPOptions {
  double bucket_cap_mb = 25;         // PyTorch's default
  double first_bucket_cap_mb = 1;    // PyTorch's first bucket: small, so the first reduce starts early
  // Parameters that get no gradient in a backward pass are an error (on every rank the pass
  // would otherwise wait forever for them) unless this is set; then they count as zero gradients
  // and get the average of the other ranks' gradients (zeros when no rank used them).
  bool find_unused_parameters = false;
};

class DistributedDataParallel {
 public:
  DistributedDataParallel(std::vector<Tensor> parameters, std::vector<Tensor> buffers,
                          std::shared_ptr<ProcessGroup> group, DDPOptions options = {});
  ~DistributedDataParallel();
  DistributedDataParallel(const DistributedDataParallel&) = delete;
  DistributedDataParallel& operator=(const DistributedDataParallel&) = delete;

  // While one is alive, backward passes only accumulate gradients locally (gradient
  // accumulation): the first backward after it ends averages the accumulated gradients.
  class NoSync {
   public:
    explicit NoSync(DistributedDataParallel& ddp) : ddp_(ddp), was_syncing_(ddp.syncing_) { ddp.syncing_ = false; }
    ~NoSync() { ddp_.syncing_ = was_syncing_; }
    NoSync(const NoSync&) = delete;
    NoSync& operator=(const NoSync&) = delete;

   private:
    DistributedDataParallel& ddp_;
    bool was_syncing_;
  };
  [[nodiscard]] NoSync no_sync() { return NoSync(*this); }

  // Copies rank 0's buffers (BatchNorm running statistics) to every rank, as PyTorch's DDP does
  // before each forward; the Trainer calls it before each training step.
  void broadcast_buffers();

  ProcessGroup& group() const { return *group_; }
  // The buckets as parameter positions (in the order given), in the order they are reduced.
  std::vector<std::vector<std::size_t>> bucket_layout() const;

 private:
  struct Slot {
    std::size_t parameter;  // position in parameters_
    std::int64_t offset;    // in the bucket's flat tensor
    bool ready = false;     // its gradient of this pass is in the bucket
  };
  struct Bucket {
    Tensor flat;  // the gradients, laid end to end
    std::vector<Slot> slots;
    std::size_t pending = 0;  // slots not yet ready in this pass
    std::shared_ptr<Work> work;
  };

  void build_buckets(const DDPOptions& options);
  void check_replicas_match();
  void on_gradient_ready(std::size_t parameter);
  void start_ready_buckets();
  // End of backward: the unused parameters (error, or zeros), then wait for every bucket and
  // copy the averages into .grad.
  void finish_pass();

  std::vector<Tensor> parameters_;
  std::vector<Tensor> buffers_;
  std::shared_ptr<ProcessGroup> group_;
  bool find_unused_parameters_;
  std::vector<Bucket> buckets_;
  std::vector<std::pair<std::size_t, std::size_t>> location_;  // parameter -> (bucket, slot)
  std::vector<std::uint64_t> hook_handles_;
  bool syncing_ = true;
  bool pass_running_ = false;
  std::size_t next_bucket_ = 0;  // the next bucket to start reducing
};

}  // namespace ember::distributed
