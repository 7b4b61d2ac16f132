#pragma once
// ZeroRedundancyOptimizer: ZeRO (Rajbhandari et al. 2020) stages 1 and 2 over any ember
// optimizer. Data-parallel ranks hold identical parameters, so keeping every optimizer state
// (Adam's two moments: twice the model) on every rank is redundant. Instead:
//   - the parameters are split between the ranks: largest first, each to the rank that owns the
//     fewest elements so far (greedy, balanced); the same split on every rank;
//   - each rank's own optimizer (wrapped.make_like: same kind and hyper-parameters) sees only its
//     parameters, so it holds only their state: about 1/N of the whole;
//   - step(): each rank steps its parameters, then the updated parameters are all-gathered so
//     every rank again holds the whole model.
// Stage 1 expects averaged gradients (DDP's). Stage 2 shards the gradients too: after backward
// (without DDP), reduce_gradients() reduce-scatters the averaged gradients to their owners and
// frees the rest; step() calls it when nobody did.
//
// state() / load_state() (checkpoints) are collectives: state() gathers every rank's part into
// the state of one unsharded optimizer (PyTorch's consolidate_state_dict), numbered like it;
// load_state() keeps each rank's part of such a state, for any world size.
#include <memory>

#include "distributed/process_group.h"
#include "optim/optimizer.h"

namespace ember::distributed {

class ZeroRedundancyOptimizer : public optim::Optimizer {
 public:
  // Shards `wrapped` (an optimizer over the whole model that never steps itself, so it holds no
  // state): its groups and hyper-parameters are read at every step, so LR schedulers made over
  // it keep working, and load_state() restores them there too. The parameters must share one dtype and device and be identical on every
  // rank. `wrapped` must outlive this optimizer.
  ZeroRedundancyOptimizer(optim::Optimizer& wrapped, std::shared_ptr<ProcessGroup> group, int stage = 1);

  void step() override;
  void zero_grad(bool set_to_none = true) override;
  // Stage 2: averages the gradients across ranks into their owners' .grad (reduce-scatter) and
  // frees the others. Call it after the last backward of a step, before unscaling or clipping.
  void reduce_gradients();
  // clip_grad_norm_ over the whole model's gradients, also when they are sharded (stage 2).
  Tensor clip_grad_norm_(double max_norm, double norm_type = 2.0);
  bool on_any_process(bool local) override;
  std::unique_ptr<optim::Optimizer> make_like(std::vector<optim::ParamGroup> groups) const override;

  int stage() const { return stage_; }
  // The rank that owns parameter `index` (PyTorch's numbering across the groups).
  int owner(std::size_t index) const { return owners_[index]; }
  // Bytes of optimizer state this rank holds (its optimizer's state tensors).
  std::int64_t local_state_bytes() const override;

 protected:
  void save_param_state(optim::OptimizerState& out) const override;
  void load_param_state(const optim::OptimizerState& in) override;

 private:
  // The parameters of `rank`, in index order, and how many elements they have.
  std::vector<std::size_t> owned_by(int rank) const;
  std::vector<std::int64_t> elements_per_rank() const;

  // Copies the wrapped optimizer's learning rates and weight decays to the groups here and to
  // this rank's optimizer.
  void follow_wrapped_groups();

  optim::Optimizer& wrapped_;
  std::shared_ptr<ProcessGroup> group_;
  int stage_;
  std::vector<Tensor> params_;      // all of them, in index order
  std::vector<int> owners_;         // per parameter
  std::vector<std::size_t> local_;  // this rank's parameters (index order) = the local numbering
  std::unique_ptr<optim::Optimizer> local_optimizer_;
  bool gradients_reduced_ = false;
};

}  // namespace ember::distributed
