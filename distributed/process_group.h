#pragma once
// ProcessGroup: the collectives data-parallel training is built on, over one group of ranks.
//
// Every call starts the collective and returns at once with a Work handle; wait() blocks until
// it has finished and rethrows its error. Collectives start in the order they were called (one
// may overlap the next), and every rank must call the same collectives in the same order (as
// with PyTorch). barrier() finishes after every collective called before it. A rank that
// dies or never arrives makes the others' collectives fail with an ember::Error after at most
// the group's timeout: never a hang.
//
// Tensors are contiguous and on the backend's device (CPU for Gloo, CUDA for NCCL); results are
// written in place. The backends: distributed/gloo_process_group.h (CPU tensors) and
// distributed/nccl_process_group.h (CUDA tensors).
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace ember::distributed {

enum class ReduceOp { sum, avg, max };
const char* name(ReduceOp op);

// The completion of one collective.
class Work {
 public:
  // Blocks until the collective has finished; rethrows the ember::Error it failed with.
  void wait();
  bool is_completed() const;

  // For backends: marks the work done, with the error it failed with (or none).
  void finish(std::exception_ptr error = nullptr);

 private:
  mutable std::mutex mutex_;
  std::condition_variable done_changed_;
  bool done_ = false;
  std::exception_ptr error_;
};

class ProcessGroup {
 public:
  virtual ~ProcessGroup() = default;
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  std::chrono::milliseconds timeout() const { return timeout_; }
  // "gloo" or "nccl".
  virtual const char* backend() const = 0;
  // The device every tensor of a collective must be on: the CPU (gloo) or this rank's GPU (nccl).
  virtual Device device() const = 0;

  // Every rank's `tensor` combined element by element, in every rank's `tensor`. avg (floating
  // dtypes only) is sum / size().
  std::shared_ptr<Work> all_reduce(const Tensor& tensor, ReduceOp op = ReduceOp::sum);
  // `input` (the same numel on every rank) combined across ranks and cut into consecutive
  // pieces: rank r receives piece r in `output`. counts[r] is piece r's numel (they add up to
  // input.numel()); empty counts mean equal pieces. Results match all_reduce, then slicing.
  std::shared_ptr<Work> reduce_scatter(const Tensor& output, const Tensor& input, ReduceOp op = ReduceOp::sum,
                                       std::vector<std::int64_t> counts = {});
  // Every rank's `input` laid end to end, in rank order, in every rank's `output`. counts[r] is
  // rank r's input numel (they add up to output.numel()); empty counts mean equal inputs.
  std::shared_ptr<Work> all_gather(const Tensor& output, const Tensor& input, std::vector<std::int64_t> counts = {});
  // Rank `root`'s `tensor` copied into every rank's `tensor`.
  std::shared_ptr<Work> broadcast(const Tensor& tensor, int root = 0);
  // Finishes once every rank has called barrier().
  std::shared_ptr<Work> barrier();

  // For small bookkeeping values (counts, flags, metric sums) that live on the host whatever the
  // backend: `host` (a CPU tensor, left unchanged) goes through the collective on device() and
  // the result comes back as a new CPU tensor. Both block until the collective has finished.
  Tensor all_reduce_host(const Tensor& host, ReduceOp op);
  Tensor all_gather_host(const Tensor& host, std::vector<std::int64_t> counts = {});

 protected:
  ProcessGroup(int rank, int size, std::chrono::milliseconds timeout);

  // Backends implement these; arguments are already checked, counts filled in.
  virtual std::shared_ptr<Work> run_all_reduce(const Tensor& tensor, ReduceOp op) = 0;
  virtual std::shared_ptr<Work> run_reduce_scatter(const Tensor& output, const Tensor& input, ReduceOp op,
                                                   const std::vector<std::int64_t>& counts) = 0;
  virtual std::shared_ptr<Work> run_all_gather(const Tensor& output, const Tensor& input,
                                               const std::vector<std::int64_t>& counts) = 0;
  virtual std::shared_ptr<Work> run_broadcast(const Tensor& tensor, int root) = 0;
  virtual std::shared_ptr<Work> run_barrier() = 0;
  // "all_reduce (gloo, rank 1 of 2)": how errors name a collective.
  std::string describe_call(const char* op) const;

 private:
  void check_tensor(const char* op, const char* role, const Tensor& tensor) const;
  std::vector<std::int64_t> checked_counts(const char* op, std::vector<std::int64_t> counts,
                                           std::int64_t total, const Tensor& piece, const char* piece_role) const;

  int rank_;
  int size_;
  std::chrono::milliseconds timeout_;
};

}  // namespace ember::distributed
