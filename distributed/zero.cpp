#include "distributed/zero.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <numeric>

#include "core/autograd/grad_mode.h"
#include "core/ops/copy.h"
#include "core/ops/factory.h"
#include "core/ops/join.h"
#include "core/ops/view.h"
#include "optim/clip_grad.h"
#include "optim/state_value.h"

namespace ember::distributed {

namespace {

// Largest first, each to the rank owning the fewest elements so far (ties: the lower rank).
std::vector<int> balanced_owners(const std::vector<Tensor>& params, int ranks) {
  std::vector<std::size_t> order(params.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return params[a].numel() > params[b].numel(); });
  std::vector<std::int64_t> load(static_cast<std::size_t>(ranks), 0);
  std::vector<int> owners(params.size(), 0);
  for (const std::size_t index : order) {
    const auto lightest = std::min_element(load.begin(), load.end());
    owners[index] = static_cast<int>(lightest - load.begin());
    *lightest += params[index].numel();
  }
  return owners;
}

// "state.<index>.<rest>" with its index replaced through `map`.
std::string renumbered(const std::string& name, const std::function<std::size_t(std::size_t)>& map) {
  return "state." + std::to_string(map(optim::state_index(name, "ZeroRedundancyOptimizer"))) +
         name.substr(name.find('.', 6));
}

bool is_param_state(const std::string& name) { return name.rfind("state.", 0) == 0; }

// An OptimizerState as bytes and back, to gather every rank's part of the state:
// per tensor its name, dtype, shape and data; per scalar its name and value.
class ByteWriter {
 public:
  template <class T>
  void put(const T& value) {
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(&value);
    data.insert(data.end(), bytes, bytes + sizeof(T));
  }
  void put_string(const std::string& text) {
    put<std::uint64_t>(text.size());
    data.insert(data.end(), text.begin(), text.end());
  }
  std::vector<std::uint8_t> data;
};

class ByteReader {
 public:
  ByteReader(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  template <class T>
  T take() {
    T value;
    std::memcpy(&value, advance(sizeof(T)), sizeof(T));
    return value;
  }
  std::string take_string() {
    const auto length = take<std::uint64_t>();
    const auto* start = reinterpret_cast<const char*>(advance(length));
    return std::string(start, start + length);
  }
  const std::uint8_t* advance(std::size_t count) {
    EMBER_CHECK(position_ + count <= size_, "ZeroRedundancyOptimizer: a rank sent a malformed optimizer state");
    const std::uint8_t* at = data_ + position_;
    position_ += count;
    return at;
  }
  bool done() const { return position_ == size_; }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t position_ = 0;
};

std::vector<std::uint8_t> serialize(const optim::OptimizerState& state) {
  ByteWriter out;
  out.put<std::uint64_t>(state.tensors.size());
  for (const auto& [name, tensor] : state.tensors) {
    const Tensor host = tensor.to(Device::cpu()).contiguous();
    out.put_string(name);
    out.put<std::uint8_t>(static_cast<std::uint8_t>(host.dtype()));
    out.put<std::uint64_t>(host.sizes().size());
    for (const std::int64_t size : host.sizes()) out.put<std::int64_t>(size);
    const auto* bytes = static_cast<const std::uint8_t*>(host.data_ptr());
    out.data.insert(out.data.end(), bytes, bytes + host.numel() * static_cast<std::int64_t>(size_of(host.dtype())));
  }
  out.put<std::uint64_t>(state.scalars.size());
  for (const auto& [name, value] : state.scalars) {
    out.put_string(name);
    out.put<double>(value);
  }
  return out.data;
}

void deserialize_into(ByteReader& in, optim::OptimizerState& state) {
  const auto tensors = in.take<std::uint64_t>();
  for (std::uint64_t t = 0; t < tensors; ++t) {
    std::string name = in.take_string();
    const auto dtype = static_cast<DType>(in.take<std::uint8_t>());
    Shape sizes(in.take<std::uint64_t>());
    for (std::int64_t& size : sizes) size = in.take<std::int64_t>();
    Tensor tensor = empty(sizes, {.dtype = dtype});
    const std::size_t bytes = static_cast<std::size_t>(tensor.numel()) * size_of(dtype);
    std::memcpy(tensor.data_ptr(), in.advance(bytes), bytes);
    state.tensors.emplace_back(std::move(name), std::move(tensor));
  }
  const auto scalars = in.take<std::uint64_t>();
  for (std::uint64_t s = 0; s < scalars; ++s) {
    std::string name = in.take_string();
    state.scalars[name] = in.take<double>();
  }
}

}  // namespace

ZeroRedundancyOptimizer::ZeroRedundancyOptimizer(optim::Optimizer& wrapped, std::shared_ptr<ProcessGroup> group,
                                                 int stage)
    : Optimizer(wrapped.name().c_str(), wrapped.param_groups()),
      wrapped_(wrapped),
      group_(std::move(group)),
      stage_(stage) {
  EMBER_CHECK(group_ != nullptr, "ZeroRedundancyOptimizer: no process group");
  EMBER_CHECK(stage == 1 || stage == 2, "ZeroRedundancyOptimizer: stage must be 1 or 2, got ", stage);
  params_ = all_params();
  EMBER_CHECK(!params_.empty(), "ZeroRedundancyOptimizer: the optimizer has no parameters");
  for (const Tensor& param : params_) {
    EMBER_CHECK(param.is_contiguous() && param.dtype() == params_.front().dtype() &&
                    param.device() == params_.front().device(),
                "ZeroRedundancyOptimizer: parameters must be contiguous and share one dtype and device; got ",
                describe(params_.front()), " and ", describe(param));
  }
  owners_ = balanced_owners(params_, group_->size());
  local_ = owned_by(group_->rank());
  // This rank's optimizer gets the same groups, each cut down to the parameters it owns.
  std::vector<optim::ParamGroup> local_groups;
  std::size_t index = 0;
  for (const optim::ParamGroup& whole : param_groups()) {
    optim::ParamGroup mine{{}, whole.lr, whole.weight_decay};
    for (const Tensor& param : whole.params) {
      if (owners_[index++] == group_->rank()) mine.params.push_back(param);
    }
    local_groups.push_back(std::move(mine));
  }
  local_optimizer_ = wrapped.make_like(std::move(local_groups));
}

std::unique_ptr<optim::Optimizer> ZeroRedundancyOptimizer::make_like(std::vector<optim::ParamGroup>) const {
  fail("ZeroRedundancyOptimizer: cannot shard an already sharded optimizer");
}

void ZeroRedundancyOptimizer::follow_wrapped_groups() {
  for (std::size_t g = 0; g < param_groups().size(); ++g) {
    const optim::ParamGroup& source = wrapped_.param_groups()[g];
    for (optim::ParamGroup* target : {&param_groups()[g], &local_optimizer_->param_groups()[g]}) {
      target->lr = source.lr;
      target->weight_decay = source.weight_decay;
    }
  }
}

std::vector<std::size_t> ZeroRedundancyOptimizer::owned_by(int rank) const {
  std::vector<std::size_t> owned;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    if (owners_[i] == rank) owned.push_back(i);
  }
  return owned;
}

std::vector<std::int64_t> ZeroRedundancyOptimizer::elements_per_rank() const {
  std::vector<std::int64_t> counts(static_cast<std::size_t>(group_->size()), 0);
  for (std::size_t i = 0; i < params_.size(); ++i) counts[static_cast<std::size_t>(owners_[i])] += params_[i].numel();
  return counts;
}

void ZeroRedundancyOptimizer::zero_grad(bool set_to_none) {
  gradients_reduced_ = false;
  Optimizer::zero_grad(set_to_none);
}

void ZeroRedundancyOptimizer::reduce_gradients() {
  EMBER_CHECK(stage_ == 2, "ZeroRedundancyOptimizer::reduce_gradients: only stage 2 shards gradients");
  NoGradGuard no_grad;
  // Every gradient, laid out rank by rank (each rank's parameters in index order), so that
  // piece r of the reduce-scatter is exactly rank r's gradients. Missing gradients count as zero.
  std::vector<Tensor> pieces;
  for (int rank = 0; rank < group_->size(); ++rank) {
    for (const std::size_t i : owned_by(rank)) {
      const Tensor grad = params_[i].grad();
      pieces.push_back(grad.defined() ? flatten(grad) : zeros({params_[i].numel()}, {.dtype = params_[i].dtype(),
                                                                                       .device = params_[i].device()}));
    }
  }
  if (pieces.empty()) return;
  const Tensor everything = cat(pieces, 0);
  const std::vector<std::int64_t> counts = elements_per_rank();
  const Tensor mine = empty({counts[static_cast<std::size_t>(group_->rank())]},
                            {.dtype = everything.dtype(), .device = everything.device()});
  group_->reduce_scatter(mine, everything, ReduceOp::avg, counts)->wait();
  std::int64_t offset = 0;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    if (owners_[i] != group_->rank()) {
      params_[i].reset_grad();  // another rank's: freed
      continue;
    }
    const Tensor average = view(slice(mine, 0, offset, offset + params_[i].numel()), params_[i].sizes()).clone();
    params_[i].set_grad(average);
    offset += params_[i].numel();
  }
  gradients_reduced_ = true;
}

void ZeroRedundancyOptimizer::step() {
  if (stage_ == 2 && !gradients_reduced_) reduce_gradients();
  gradients_reduced_ = false;
  follow_wrapped_groups();  // an LR scheduler may have changed them
  local_optimizer_->step();
  // Everyone's updated parameters to everyone: piece r of the gather is rank r's parameters.
  NoGradGuard no_grad;
  const std::vector<std::int64_t> counts = elements_per_rank();
  std::vector<Tensor> mine;
  for (const std::size_t i : local_) mine.push_back(flatten(params_[i]));
  const Tensor& first = params_.front();
  const Tensor local = mine.empty() ? empty({0}, {.dtype = first.dtype(), .device = first.device()}) : cat(mine, 0);
  const Tensor everything = empty({std::accumulate(counts.begin(), counts.end(), std::int64_t{0})},
                                  {.dtype = first.dtype(), .device = first.device()});
  group_->all_gather(everything, local, counts)->wait();
  std::int64_t offset = 0;
  for (int rank = 0; rank < group_->size(); ++rank) {
    for (const std::size_t i : owned_by(rank)) {
      const Tensor& param = params_[i];
      if (rank != group_->rank()) copy_(param, view(slice(everything, 0, offset, offset + param.numel()), param.sizes()));
      offset += param.numel();
    }
  }
}

Tensor ZeroRedundancyOptimizer::clip_grad_norm_(double max_norm, double norm_type) {
  return optim::clip_grad_norm_(params_, max_norm, norm_type, [this](const Tensor& partial, optim::NormPartial how) {
    if (stage_ == 1) return partial;  // every rank holds every (averaged) gradient
    const ReduceOp op = how == optim::NormPartial::max ? ReduceOp::max : ReduceOp::sum;
    // On the gradients' device when the backend is (nccl), so nothing waits on the host.
    if (partial.device() != group_->device()) return group_->all_reduce_host(partial, op);
    const Tensor total = partial.reshape({1}).clone();
    group_->all_reduce(total, op)->wait();
    return total.reshape({});
  });
}

bool ZeroRedundancyOptimizer::on_any_process(bool local) {
  const Tensor flag = scalar_tensor(local ? 1 : 0, {.dtype = DType::u8});
  return group_->all_reduce_host(flag, ReduceOp::max).item<double>() != 0;
}

std::int64_t ZeroRedundancyOptimizer::local_state_bytes() const { return local_optimizer_->local_state_bytes(); }

void ZeroRedundancyOptimizer::save_param_state(optim::OptimizerState& out) const {
  // This rank's part, numbered like the whole ...
  optim::OptimizerState part;
  const optim::OptimizerState local = local_optimizer_->state();
  auto global = [this](std::size_t k) { return local_[k]; };
  for (const auto& [name, tensor] : local.tensors) {
    if (is_param_state(name)) part.tensors.emplace_back(renumbered(name, global), tensor);
  }
  for (const auto& [name, value] : local.scalars) {
    if (is_param_state(name)) part.scalars[renumbered(name, global)] = value;
  }
  // ... and every rank's, gathered: first the sizes, then the bytes.
  const std::vector<std::uint8_t> bytes = serialize(part);
  const Tensor my_size = scalar_tensor(static_cast<double>(bytes.size()), {.dtype = DType::i64}).reshape({1});
  const std::vector<std::int64_t> counts = group_->all_gather_host(my_size).to_vector<std::int64_t>();
  const Tensor mine = empty({static_cast<std::int64_t>(bytes.size())}, {.dtype = DType::u8});
  std::memcpy(mine.data_ptr(), bytes.data(), bytes.size());
  const Tensor everything = group_->all_gather_host(mine, counts);
  const auto* data = static_cast<const std::uint8_t*>(everything.data_ptr());
  for (const std::int64_t count : counts) {
    ByteReader reader(data, static_cast<std::size_t>(count));
    deserialize_into(reader, out);
    EMBER_CHECK(reader.done(), "ZeroRedundancyOptimizer: a rank sent a malformed optimizer state");
    data += count;
  }
  // The groups' values are the wrapped optimizer's (a scheduler may have moved them since the last step).
  for (std::size_t g = 0; g < wrapped_.param_groups().size(); ++g) {
    out.scalars["group." + std::to_string(g) + ".lr"] = wrapped_.param_groups()[g].lr;
    out.scalars["group." + std::to_string(g) + ".weight_decay"] = wrapped_.param_groups()[g].weight_decay;
  }
}

void ZeroRedundancyOptimizer::load_param_state(const optim::OptimizerState& in) {
  // The base class restored the groups here; the wrapped optimizer, which the next step follows,
  // gets them too. This rank keeps the entries of its own parameters.
  for (std::size_t g = 0; g < param_groups().size(); ++g) {
    wrapped_.param_groups()[g].lr = param_groups()[g].lr;
    wrapped_.param_groups()[g].weight_decay = param_groups()[g].weight_decay;
  }
  std::map<std::size_t, std::size_t> local_index;
  for (std::size_t k = 0; k < local_.size(); ++k) local_index[local_[k]] = k;
  auto mine = [&](const std::string& name) {
    return local_index.count(optim::state_index(name, "ZeroRedundancyOptimizer")) > 0;
  };
  auto local = [&](std::size_t i) { return local_index.at(i); };
  optim::OptimizerState part;
  for (const auto& [name, tensor] : in.tensors) {
    if (is_param_state(name) && mine(name)) part.tensors.emplace_back(renumbered(name, local), tensor);
  }
  for (const auto& [name, value] : in.scalars) {
    if (!is_param_state(name)) {
      part.scalars[name] = value;  // the groups' lr and weight decay
    } else if (mine(name)) {
      part.scalars[renumbered(name, local)] = value;
    }
  }
  local_optimizer_->load_state(part);
}

}  // namespace ember::distributed
