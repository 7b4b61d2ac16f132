#pragma once
// The Gloo backend: collectives over TCP between CPU tensors, run by Gloo's own algorithms
// (ring all-reduce, halving-doubling reduce-scatter, ...). Gloo calls block, so each group runs
// them one after another on a communication thread of its own: the caller gets a Work handle at
// once and keeps computing (DDP overlaps backward with its bucket all-reduces this way).
#include <deque>
#include <functional>
#include <thread>

#include "distributed/process_group.h"
#include "distributed/store.h"

namespace gloo {
class Context;
}

namespace ember::distributed {

struct GlooOptions {
  // The address the other ranks reach this one at: a host name or IP. Empty: 127.0.0.1 when
  // every rank runs on this machine, else this machine's host name.
  std::string hostname;
  // Or a network interface to take the address from ("eth0"); wins over hostname.
  std::string interface_name;
};

class GlooProcessGroup : public ProcessGroup {
 public:
  // Joins the group through `store` (every rank must call this with the same store and size);
  // waits up to `timeout` for the others, and gives every later collective the same timeout.
  GlooProcessGroup(std::shared_ptr<Store> store, int rank, int size, std::chrono::milliseconds timeout,
                   const GlooOptions& options = {});
  ~GlooProcessGroup() override;

  const char* backend() const override { return "gloo"; }
  Device device() const override { return Device::cpu(); }

 protected:
  std::shared_ptr<Work> run_all_reduce(const Tensor& tensor, ReduceOp op) override;
  std::shared_ptr<Work> run_reduce_scatter(const Tensor& output, const Tensor& input, ReduceOp op,
                                           const std::vector<std::int64_t>& counts) override;
  std::shared_ptr<Work> run_all_gather(const Tensor& output, const Tensor& input,
                                       const std::vector<std::int64_t>& counts) override;
  std::shared_ptr<Work> run_broadcast(const Tensor& tensor, int root) override;
  std::shared_ptr<Work> run_barrier() override;

 private:
  struct Job {
    std::string call;  // describe_call(op), for errors
    std::function<void()> run;
    std::shared_ptr<Work> work;
  };
  // Queues `run` for the communication thread.
  std::shared_ptr<Work> enqueue(const char* op, std::function<void()> run);
  void communication_loop();

  std::shared_ptr<Store> store_;
  std::shared_ptr<gloo::Context> context_;
  std::mutex mutex_;
  std::condition_variable jobs_changed_;
  std::deque<Job> jobs_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace ember::distributed
