#include "distributed/process_group.h"

#include <numeric>

#include "core/ops/factory.h"
#include "core/ops/op_utils.h"
#include "core/ops/view.h"

namespace ember::distributed {

const char* name(ReduceOp op) {
  switch (op) {
    case ReduceOp::sum: return "sum";
    case ReduceOp::avg: return "avg";
    case ReduceOp::max: return "max";
  }
  return "?";
}

void Work::wait() {
  std::unique_lock lock(mutex_);
  done_changed_.wait(lock, [this] { return done_; });
  if (error_) std::rethrow_exception(error_);
}

bool Work::is_completed() const {
  std::lock_guard lock(mutex_);
  return done_;
}

void Work::finish(std::exception_ptr error) {
  {
    std::lock_guard lock(mutex_);
    done_ = true;
    error_ = std::move(error);
  }
  done_changed_.notify_all();
}

ProcessGroup::ProcessGroup(int rank, int size, std::chrono::milliseconds timeout)
    : rank_(rank), size_(size), timeout_(timeout) {
  EMBER_CHECK(size >= 1 && rank >= 0 && rank < size, "ProcessGroup: rank ", rank, " is not in a world of size ",
              size);
  EMBER_CHECK(timeout.count() > 0, "ProcessGroup: the timeout must be positive, got ", timeout.count(), " ms");
}

std::string ProcessGroup::describe_call(const char* op) const {
  return std::string(op) + " (" + backend() + ", rank " + std::to_string(rank_) + " of " + std::to_string(size_) + ")";
}

void ProcessGroup::check_tensor(const char* op, const char* role, const Tensor& tensor) const {
  const std::string call = describe_call(op);
  EMBER_CHECK(tensor.defined(), call, ": the ", role, " is undefined");
  EMBER_CHECK(tensor.device() == device(), call, ": the ", role, " ", describe(tensor), " must be on ",
              device().str(), ", the device this ", backend(), " group serves");
  EMBER_CHECK(tensor.is_contiguous(), call, ": the ", role, " ", describe(tensor), " must be contiguous");
}

std::vector<std::int64_t> ProcessGroup::checked_counts(const char* op, std::vector<std::int64_t> counts,
                                                       std::int64_t total, const Tensor& piece,
                                                       const char* piece_role) const {
  const std::string call = describe_call(op);
  if (counts.empty()) {
    EMBER_CHECK(total % size_ == 0, call, ": ", total, " elements do not split into ", size_,
                " equal pieces; pass counts for unequal pieces");
    counts.assign(static_cast<std::size_t>(size_), total / size_);
  }
  EMBER_CHECK(counts.size() == static_cast<std::size_t>(size_), call, ": got ", counts.size(),
              " counts for a world of size ", size_);
  for (const std::int64_t count : counts) EMBER_CHECK(count >= 0, call, ": counts must not be negative");
  const std::int64_t sum = std::accumulate(counts.begin(), counts.end(), std::int64_t{0});
  EMBER_CHECK(sum == total, call, ": counts add up to ", sum, " elements, but the whole tensor has ", total);
  EMBER_CHECK(piece.numel() == counts[static_cast<std::size_t>(rank_)], call, ": the ", piece_role, " tensor ",
              describe(piece), " must have counts[", rank_, "] = ", counts[static_cast<std::size_t>(rank_)],
              " elements");
  return counts;
}

std::shared_ptr<Work> ProcessGroup::all_reduce(const Tensor& tensor, ReduceOp op) {
  check_tensor("all_reduce", "tensor", tensor);
  EMBER_CHECK(op != ReduceOp::avg || is_floating(tensor.dtype()), describe_call("all_reduce"),
              ": avg needs a floating tensor, got ", describe(tensor));
  return run_all_reduce(tensor, op);
}

std::shared_ptr<Work> ProcessGroup::reduce_scatter(const Tensor& output, const Tensor& input, ReduceOp op,
                                                   std::vector<std::int64_t> counts) {
  check_tensor("reduce_scatter", "output tensor", output);
  check_tensor("reduce_scatter", "input tensor", input);
  EMBER_CHECK(output.dtype() == input.dtype() && output.device() == input.device(), describe_call("reduce_scatter"),
              ": output ", describe(output), " and input ", describe(input), " must share dtype and device");
  EMBER_CHECK(op != ReduceOp::avg || is_floating(input.dtype()), describe_call("reduce_scatter"),
              ": avg needs a floating tensor, got ", describe(input));
  counts = checked_counts("reduce_scatter", std::move(counts), input.numel(), output, "output");
  return run_reduce_scatter(output, input, op, counts);
}

std::shared_ptr<Work> ProcessGroup::all_gather(const Tensor& output, const Tensor& input,
                                               std::vector<std::int64_t> counts) {
  check_tensor("all_gather", "output tensor", output);
  check_tensor("all_gather", "input tensor", input);
  EMBER_CHECK(output.dtype() == input.dtype() && output.device() == input.device(), describe_call("all_gather"),
              ": output ", describe(output), " and input ", describe(input), " must share dtype and device");
  counts = checked_counts("all_gather", std::move(counts), output.numel(), input, "input");
  return run_all_gather(output, input, counts);
}

std::shared_ptr<Work> ProcessGroup::broadcast(const Tensor& tensor, int root) {
  check_tensor("broadcast", "tensor", tensor);
  EMBER_CHECK(root >= 0 && root < size_, describe_call("broadcast"), ": root ", root, " is not a rank of a world of size ",
              size_);
  return run_broadcast(tensor, root);
}

std::shared_ptr<Work> ProcessGroup::barrier() { return run_barrier(); }

namespace {

// A copy of the CPU tensor `host` on `device`, which a collective may overwrite.
Tensor device_copy(const char* op, const Tensor& host, const Device& device) {
  EMBER_CHECK(host.defined() && host.device().is_cpu(), op, ": expects a CPU tensor, got ", describe(host));
  return device.is_cpu() ? host.contiguous().clone() : host.contiguous().to(device);
}

}  // namespace

Tensor ProcessGroup::all_reduce_host(const Tensor& host, ReduceOp op) {
  const Tensor values = device_copy("all_reduce_host", host, device());
  all_reduce(values, op)->wait();
  return values.to(Device::cpu());
}

Tensor ProcessGroup::all_gather_host(const Tensor& host, std::vector<std::int64_t> counts) {
  const Tensor input = device_copy("all_gather_host", host, device());
  const std::int64_t total =
      counts.empty() ? input.numel() * size_ : std::accumulate(counts.begin(), counts.end(), std::int64_t{0});
  const Tensor output = empty({total}, {.dtype = input.dtype(), .device = device()});
  all_gather(output, flatten(input), std::move(counts))->wait();
  return output.to(Device::cpu());
}

}  // namespace ember::distributed
