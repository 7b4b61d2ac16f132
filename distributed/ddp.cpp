#include "distributed/ddp.h"

#include <algorithm>
#include <string>

#include "core/autograd/engine.h"
#include "core/autograd/grad_mode.h"
#include "core/ops/copy.h"
#include "core/ops/factory.h"
#include "core/ops/view.h"

namespace ember::distributed {

namespace {

// The part of a bucket's flat tensor that holds `parameter`'s gradient, shaped like it.
Tensor slot_view(const Tensor& flat, std::int64_t offset, const Tensor& parameter) {
  return view(slice(flat, 0, offset, offset + parameter.numel()), parameter.sizes());
}

}  // namespace

DistributedDataParallel::DistributedDataParallel(std::vector<Tensor> parameters, std::vector<Tensor> buffers,
                                                 std::shared_ptr<ProcessGroup> group, DDPOptions options)
    : parameters_(std::move(parameters)),
      buffers_(std::move(buffers)),
      group_(std::move(group)),
      find_unused_parameters_(options.find_unused_parameters) {
  EMBER_CHECK(group_ != nullptr, "DistributedDataParallel: no process group");
  EMBER_CHECK(options.bucket_cap_mb > 0 && options.first_bucket_cap_mb > 0,
              "DistributedDataParallel: bucket sizes must be positive, got bucket_cap_mb = ", options.bucket_cap_mb,
              ", first_bucket_cap_mb = ", options.first_bucket_cap_mb);
  for (const Tensor& parameter : parameters_) {
    EMBER_CHECK(parameter.defined() && parameter.is_leaf() && parameter.is_contiguous(),
                "DistributedDataParallel: parameters must be contiguous leaf tensors, got ", describe(parameter));
  }
  check_replicas_match();
  {
    // Every replica starts from rank 0's weights.
    NoGradGuard no_grad;
    std::vector<std::shared_ptr<Work>> works;
    for (const Tensor& parameter : parameters_) works.push_back(group_->broadcast(parameter, 0));
    for (const auto& work : works) work->wait();
    for (const Tensor& parameter : parameters_) parameter.bump_version();
  }
  broadcast_buffers();
  build_buckets(options);
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    if (!parameters_[i].requires_grad()) continue;
    hook_handles_.push_back(parameters_[i].register_post_accumulate_grad_hook([this, i](const Tensor&) {
      on_gradient_ready(i);
    }));
  }
}

DistributedDataParallel::~DistributedDataParallel() {
  std::size_t hook = 0;
  for (const Tensor& parameter : parameters_) {
    if (parameter.requires_grad()) parameter.remove_post_accumulate_grad_hook(hook_handles_[hook++]);
  }
}

void DistributedDataParallel::check_replicas_match() {
  // Same number of parameters and elements on every rank, else the buckets would not line up
  // and the all-reduces would mix unrelated gradients.
  std::int64_t elements = 0;
  for (const Tensor& parameter : parameters_) elements += parameter.numel();
  const std::int64_t mine[2] = {static_cast<std::int64_t>(parameters_.size()), elements};
  const Tensor local = zeros({2}, {.dtype = DType::i64});
  local.data<std::int64_t>()[0] = mine[0];
  local.data<std::int64_t>()[1] = mine[1];
  const Tensor everyone = group_->all_gather_host(local);
  for (int rank = 0; rank < group_->size(); ++rank) {
    const std::int64_t* theirs = everyone.data<std::int64_t>() + 2 * rank;
    EMBER_CHECK(theirs[0] == mine[0] && theirs[1] == mine[1], "DistributedDataParallel: rank ", group_->rank(), " has ",
                mine[0], " parameters with ", mine[1], " elements, rank ", rank, " has ", theirs[0], " with ", theirs[1],
                ": every rank must build the same model");
  }
}

void DistributedDataParallel::build_buckets(const DDPOptions& options) {
  location_.assign(parameters_.size(), {0, 0});
  double cap_bytes = options.first_bucket_cap_mb * 1024 * 1024;
  double bucket_bytes = 0;  // in the newest bucket
  std::int64_t filled = 0;  // elements in the newest bucket
  // Reverse registration order: the last layers' gradients are ready first in backward. As in
  // PyTorch, a bucket takes parameters until it reaches its cap (so a parameter of exactly the
  // cap's size fills one alone), and a parameter of another dtype or device starts a new one.
  for (std::size_t k = parameters_.size(); k-- > 0;) {
    const Tensor& parameter = parameters_[k];
    if (!parameter.requires_grad()) continue;
    bool joins = false;
    if (!buckets_.empty()) {
      const Tensor& first = parameters_[buckets_.back().slots.front().parameter];
      joins = bucket_bytes < cap_bytes && first.dtype() == parameter.dtype() && first.device() == parameter.device();
      if (!joins) cap_bytes = options.bucket_cap_mb * 1024 * 1024;  // only the first bucket is smaller
    }
    if (!joins) {
      buckets_.emplace_back();
      bucket_bytes = 0;
      filled = 0;
    }
    Bucket& bucket = buckets_.back();
    location_[k] = {buckets_.size() - 1, bucket.slots.size()};
    bucket.slots.push_back({k, filled});
    filled += parameter.numel();
    bucket_bytes += static_cast<double>(parameter.numel() * static_cast<std::int64_t>(size_of(parameter.dtype())));
  }
  for (Bucket& bucket : buckets_) {
    const Tensor& first = parameters_[bucket.slots.front().parameter];
    const Slot& last = bucket.slots.back();
    bucket.flat = zeros({last.offset + parameters_[last.parameter].numel()},
                        {.dtype = first.dtype(), .device = first.device()});
    bucket.pending = bucket.slots.size();
  }
}

std::vector<std::vector<std::size_t>> DistributedDataParallel::bucket_layout() const {
  std::vector<std::vector<std::size_t>> layout;
  for (const Bucket& bucket : buckets_) {
    layout.emplace_back();
    for (const Slot& slot : bucket.slots) layout.back().push_back(slot.parameter);
  }
  return layout;
}

void DistributedDataParallel::broadcast_buffers() {
  if (group_->size() == 1 || buffers_.empty()) return;
  NoGradGuard no_grad;
  std::vector<std::shared_ptr<Work>> works;
  for (const Tensor& buffer : buffers_) works.push_back(group_->broadcast(buffer, 0));
  for (const auto& work : works) work->wait();
}

void DistributedDataParallel::on_gradient_ready(std::size_t parameter) {
  if (!syncing_) return;  // inside no_sync: gradients only accumulate
  if (!pass_running_) {
    pass_running_ = true;
    queue_backward_callback([this] { finish_pass(); });
  }
  const auto [bucket_index, slot_index] = location_[parameter];
  Bucket& bucket = buckets_[bucket_index];
  Slot& slot = bucket.slots[slot_index];
  if (slot.ready) return;
  copy_(slot_view(bucket.flat, slot.offset, parameters_[parameter]), parameters_[parameter].grad());
  slot.ready = true;
  --bucket.pending;
  start_ready_buckets();
}

void DistributedDataParallel::start_ready_buckets() {
  while (next_bucket_ < buckets_.size() && buckets_[next_bucket_].pending == 0) {
    Bucket& bucket = buckets_[next_bucket_++];
    bucket.work = group_->all_reduce(bucket.flat, ReduceOp::avg);
  }
}

void DistributedDataParallel::finish_pass() {
  // Whatever happens below, the next backward starts a fresh pass.
  struct Reset {
    DistributedDataParallel& ddp;
    ~Reset() {
      for (Bucket& bucket : ddp.buckets_) {
        for (Slot& slot : bucket.slots) slot.ready = false;
        bucket.pending = bucket.slots.size();
        bucket.work.reset();
      }
      ddp.next_bucket_ = 0;
      ddp.pass_running_ = false;
    }
  } reset{*this};

  std::vector<std::size_t> unused;
  for (Bucket& bucket : buckets_) {
    for (Slot& slot : bucket.slots) {
      if (slot.ready) continue;
      unused.push_back(slot.parameter);
      if (!find_unused_parameters_) continue;
      zero_(slot_view(bucket.flat, slot.offset, parameters_[slot.parameter]));
      slot.ready = true;
      --bucket.pending;
    }
  }
  if (!unused.empty() && !find_unused_parameters_) {
    std::sort(unused.begin(), unused.end());
    std::string names;
    for (const std::size_t index : unused) {
      names += (names.empty() ? "" : ", ") + std::to_string(index) + " " + to_string(parameters_[index].sizes());
    }
    // Wait for what was started so nothing runs on the buckets after this error.
    for (Bucket& bucket : buckets_) {
      if (bucket.work) bucket.work->wait();
    }
    fail("DistributedDataParallel: parameters ", names, " (positions in the list given, with shapes) got no "
         "gradient in this backward pass. Every rank's pass must produce the same gradients; if the model "
         "really leaves parameters unused, set DDPOptions::find_unused_parameters");
  }
  start_ready_buckets();
  NoGradGuard no_grad;
  for (Bucket& bucket : buckets_) {
    bucket.work->wait();
    for (const Slot& slot : bucket.slots) {
      const Tensor& parameter = parameters_[slot.parameter];
      const Tensor average = slot_view(bucket.flat, slot.offset, parameter);
      if (parameter.grad().defined()) {
        copy_(parameter.grad(), average);
      } else {
        parameter.set_grad(average.clone());  // an unused parameter
      }
    }
  }
}

}  // namespace ember::distributed
