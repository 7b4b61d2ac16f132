#pragma once
// The NCCL backend: collectives between CUDA tensors, one GPU per rank (cuda:LOCAL_RANK), run by
// NCCL's own kernels. Rank 0 makes the NCCL unique id and publishes it in the rendezvous store;
// the others read it there (distributed/store.h).
//
// Streams: every collective runs on the group's own CUDA stream, after what the caller's current
// stream had queued when it was called (an event orders the two), so DDP's bucket all-reduces
// overlap the backward kernels that follow. The call returns at once; the Work finishes when the
// NCCL kernels did, and the tensors stay alive until then.
//
// Timeouts: the communicator is non-blocking, so no NCCL call can hang the caller. A watchdog
// thread polls each collective's completion; past the group's timeout (a rank died or called a
// different collective) it aborts the communicator, and the collective and every later one fail
// with an ember::Error.
#include <cuda_runtime_api.h>

#include <deque>
#include <functional>
#include <thread>

#include "distributed/process_group.h"
#include "distributed/store.h"

struct ncclComm;

namespace ember::distributed {

class NcclProcessGroup : public ProcessGroup {
 public:
  // Joins the group through `store` on GPU `cuda_device`; waits up to `timeout` for the others
  // and gives every later collective the same timeout.
  NcclProcessGroup(const std::shared_ptr<Store>& store, int rank, int size, int cuda_device,
                   std::chrono::milliseconds timeout);
  ~NcclProcessGroup() override;

  const char* backend() const override { return "nccl"; }
  Device device() const override { return Device::cuda(cuda_device_); }

 protected:
  std::shared_ptr<Work> run_all_reduce(const Tensor& tensor, ReduceOp op) override;
  std::shared_ptr<Work> run_reduce_scatter(const Tensor& output, const Tensor& input, ReduceOp op,
                                           const std::vector<std::int64_t>& counts) override;
  std::shared_ptr<Work> run_all_gather(const Tensor& output, const Tensor& input,
                                       const std::vector<std::int64_t>& counts) override;
  std::shared_ptr<Work> run_broadcast(const Tensor& tensor, int root) override;
  std::shared_ptr<Work> run_barrier() override;

 private:
  using Clock = std::chrono::steady_clock;
  // A collective queued on the NCCL stream and not known to be finished yet.
  struct InFlight {
    std::string call;             // describe_call(op), for errors
    cudaEvent_t done;             // recorded on the NCCL stream after the collective
    std::vector<Tensor> tensors;  // kept alive until the kernels that use them finished
    std::shared_ptr<Work> work;
    Clock::time_point deadline;
  };

  // Queues the NCCL calls `issue` makes on the group's stream, behind the caller's stream.
  std::shared_ptr<Work> launch(const char* op, std::vector<Tensor> tensors, const std::function<void()>& issue);
  // Checks an NCCL call's result and waits (up to the timeout) until the non-blocking
  // communicator has taken it in; on failure aborts the group and throws.
  void settle(int result, const std::string& call);
  // Aborts the communicator and fails every collective in flight; later calls fail at once.
  // The caller holds mutex_.
  void abort_group(const std::string& reason);
  void watchdog_loop();

  int cuda_device_;
  ncclComm* comm_ = nullptr;
  cudaStream_t stream_ = nullptr;
  cudaEvent_t caller_ready_ = nullptr;  // marks the caller's stream position before a collective
  std::mutex mutex_;                    // serializes NCCL calls; guards the members below
  std::condition_variable in_flight_changed_;
  std::deque<InFlight> in_flight_;
  std::string failure_;  // why the group was aborted; empty while it works
  bool stopping_ = false;
  std::thread watchdog_;
};

}  // namespace ember::distributed
