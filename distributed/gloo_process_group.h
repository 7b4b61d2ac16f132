#pragma once
// The Gloo backend: collectives over TCP between CPU tensors, run by Gloo's own algorithms
// (ring all-reduce, halving-doubling reduce-scatter, ...). Gloo calls block, so each group runs
// them on communication threads of its own: the caller gets a Work handle at once and keeps
// computing (DDP overlaps backward with its bucket all-reduces this way). As in PyTorch, two
// threads take the collectives in call order, so one may start while the previous one still
// waits on the network; each collective gets a tag (its call number, the same on every rank),
// which keeps the messages of concurrent collectives apart.
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
  // Or a network interface to take the address from ("eth0"); wins over hostname. Empty: the
  // environment's GLOO_SOCKET_IFNAME (PyTorch's variable), if set.
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
  // Calls `prepare` with the collective's tag, in call order, and queues the job it returns for
  // the communication threads. `prepare` runs on the caller's thread with the queue locked: what
  // must happen in the same order on every rank (reserving a Gloo slot) happens there.
  std::shared_ptr<Work> enqueue(const char* op, const std::function<std::function<void()>(std::uint32_t)>& prepare);
  void communication_loop();

  std::shared_ptr<Store> store_;
  std::shared_ptr<gloo::Context> context_;
  std::mutex mutex_;
  std::condition_variable jobs_changed_;
  std::deque<Job> jobs_;
  std::uint32_t next_tag_ = 0;
  std::vector<std::weak_ptr<Work>> issued_;  // since the last barrier, which waits for them
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace ember::distributed
