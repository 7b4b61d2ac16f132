#include "distributed/gloo_process_group.h"

#include <signal.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <numeric>

#include <gloo/allgatherv.h>
#include <gloo/allreduce.h>
#include <gloo/barrier.h>
#include <gloo/broadcast.h>
#include <gloo/common/error.h>
#include <gloo/reduce_scatter.h>
#include <gloo/rendezvous/context.h>
#include <gloo/transport/tcp/device.h>

#include "core/dtype.h"
#include "core/ops/copy.h"
#include "core/ops/elementwise.h"

namespace ember::distributed {

namespace {

// The element-wise combine steps Gloo's algorithms call (the algorithms themselves are Gloo's).
// 16-bit floats combine in f32 and round once.
template <class T>
T combine(T a, T b, ReduceOp op) {
  using Compute = compute_t<T>;
  const Compute x = static_cast<Compute>(a);
  const Compute y = static_cast<Compute>(b);
  return static_cast<T>(op == ReduceOp::max ? (x < y ? y : x) : x + y);
}

template <class T, ReduceOp op>
void combine_into(void* out, const void* a, const void* b, std::size_t n) {
  T* o = static_cast<T*>(out);
  const T* x = static_cast<const T*>(a);
  const T* y = static_cast<const T*>(b);
  for (std::size_t i = 0; i < n; ++i) o[i] = combine(x[i], y[i], op);
}

template <class T, ReduceOp op>
void combine_in_place(T* x, const T* y, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) x[i] = combine(x[i], y[i], op);
}

// What Gloo combines with: avg is a sum divided by the world size afterwards, and bool tensors
// travel as bytes combined with max, which is "or" for sum and max alike.
ReduceOp combined_with(ReduceOp op, DType dtype) {
  return op == ReduceOp::max || dtype == DType::b8 ? ReduceOp::max : ReduceOp::sum;
}
DType carried_as(DType dtype) { return dtype == DType::b8 ? DType::u8 : dtype; }

// In place: a temporary the size of a gradient bucket would cost a fresh allocation per call.
void divide_if_average(const Tensor& tensor, ReduceOp op, int size) {
  if (op == ReduceOp::avg) mul_(tensor, 1.0 / size);
}

// Gloo's halving-doubling reduce-scatter of `data` (the sum of `pieces` elements), which leaves
// this rank's piece at the front. Made on the caller's thread: making it reserves the slots its
// messages use, which must happen in the same order on every rank.
template <class T>
class ReduceScatter {
 public:
  ReduceScatter(const std::shared_ptr<gloo::Context>& context, T* data, const std::vector<int>& pieces, bool is_max)
      : reduction_(is_max ? gloo::MAX : gloo::SUM,
                   is_max ? &combine_in_place<T, ReduceOp::max> : &combine_in_place<T, ReduceOp::sum>),
        algorithm_(context, std::vector<T*>{data}, std::accumulate(pieces.begin(), pieces.end(), 0), pieces,
                   &reduction_) {}
  void run() { algorithm_.run(); }

 private:
  gloo::ReductionFunction<T> reduction_;  // the algorithm keeps a pointer to it
  gloo::ReduceScatterHalvingDoubling<T> algorithm_;
};

void* bytes_of(const Tensor& tensor) { return tensor.data_ptr(); }

std::string local_hostname(const GlooOptions& options) {
  if (!options.hostname.empty()) return options.hostname;
  const char* local_world = std::getenv("LOCAL_WORLD_SIZE");
  const char* world = std::getenv("WORLD_SIZE");
  if (local_world != nullptr && world != nullptr && std::string(local_world) == world) return "127.0.0.1";
  char name[256] = {};
  EMBER_CHECK(gethostname(name, sizeof(name) - 1) == 0, "GlooProcessGroup: cannot read this machine's host name");
  return name;
}

// Gloo writes to its peers' sockets without MSG_NOSIGNAL: when a peer has died, the write raises
// SIGPIPE, whose default action kills this process before Gloo can report the error (PyTorch's
// users never see it because Python ignores SIGPIPE). Ignore it, unless the program installed a
// handler of its own, so a dead rank is an error naming the collective on the others.
void ignore_sigpipe_unless_handled() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction current {};
    if (sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) std::signal(SIGPIPE, SIG_IGN);
  });
}

}  // namespace

GlooProcessGroup::GlooProcessGroup(std::shared_ptr<Store> store, int rank, int size,
                                   std::chrono::milliseconds timeout, const GlooOptions& options)
    : ProcessGroup(rank, size, timeout), store_(std::move(store)) {
  EMBER_CHECK(store_ != nullptr, "GlooProcessGroup: no store");
  ignore_sigpipe_unless_handled();
  gloo::transport::tcp::attr address;
  // PyTorch's variable for the same choice, so a cluster's launch script works for both.
  const char* interface_from_environment = std::getenv("GLOO_SOCKET_IFNAME");
  if (!options.interface_name.empty()) {
    address.iface = options.interface_name;
  } else if (interface_from_environment != nullptr && interface_from_environment[0] != '\0') {
    address.iface = interface_from_environment;
  } else {
    address.hostname = local_hostname(options);
  }
  auto context = std::make_shared<gloo::rendezvous::Context>(rank, size);
  context->setTimeout(timeout);
  try {
    std::shared_ptr<gloo::transport::Device> device = gloo::transport::tcp::CreateDevice(address);
    context->connectFullMesh(*store_, device);
  } catch (const gloo::Exception& error) {
    fail("GlooProcessGroup: rank ", rank, " of ", size, " could not connect to the others through ", store_->url(),
         " (timeout ", timeout.count(), " ms): ", error.what());
  }
  context_ = std::move(context);
  constexpr int kCommunicationThreads = 2;  // PyTorch's ProcessGroupGloo default
  for (int i = 0; i < kCommunicationThreads; ++i) threads_.emplace_back([this] { communication_loop(); });
}

GlooProcessGroup::~GlooProcessGroup() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  jobs_changed_.notify_all();
  for (std::thread& thread : threads_) thread.join();
}

std::shared_ptr<Work> GlooProcessGroup::enqueue(const char* op,
                                                const std::function<std::function<void()>(std::uint32_t)>& prepare) {
  auto work = std::make_shared<Work>();
  {
    std::lock_guard lock(mutex_);
    jobs_.push_back({describe_call(op), prepare(next_tag_++), work});
    // Only unfinished collectives matter to a later barrier: the list stays as short as the queue.
    std::erase_if(issued_, [](const std::weak_ptr<Work>& issued) {
      const auto alive = issued.lock();
      return !alive || alive->is_completed();
    });
    issued_.push_back(work);
  }
  jobs_changed_.notify_one();
  return work;
}

void GlooProcessGroup::communication_loop() {
  while (true) {
    Job job;
    {
      std::unique_lock lock(mutex_);
      jobs_changed_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) return;  // stopping, with nothing left to run
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    try {
      job.run();
      job.work->finish();
    } catch (const gloo::Exception& error) {
      // A peer that died closes its sockets (IoException); one that stalls runs into the timeout.
      job.work->finish(std::make_exception_ptr(
          Error(job.call + ": failed after at most " + std::to_string(timeout().count()) +
                " ms: " + error.what() + " (another rank died, stalled or called a different collective)")));
    } catch (const std::exception& error) {
      job.work->finish(std::make_exception_ptr(Error(job.call + ": " + error.what())));
    }
  }
}

std::shared_ptr<Work> GlooProcessGroup::run_all_reduce(const Tensor& tensor, ReduceOp op) {
  return enqueue("all_reduce", [&](std::uint32_t tag) -> std::function<void()> {
    return [this, tensor, op, tag] {
      if (tensor.numel() == 0) return;
      dispatch_all_types<HostHalfTypes>(carried_as(tensor.dtype()), "all_reduce", [&]<class T>() {
        gloo::AllreduceOptions options(context_);
        options.setOutput(static_cast<T*>(bytes_of(tensor)), static_cast<std::size_t>(tensor.numel()));
        options.setReduceFunction(combined_with(op, tensor.dtype()) == ReduceOp::max
                                      ? &combine_into<T, ReduceOp::max>
                                      : &combine_into<T, ReduceOp::sum>);
        options.setTag(tag);
        options.setTimeout(timeout());
        gloo::allreduce(options);
      });
      divide_if_average(tensor, op, size());
    };
  });
}

std::shared_ptr<Work> GlooProcessGroup::run_reduce_scatter(const Tensor& output, const Tensor& input, ReduceOp op,
                                                           const std::vector<std::int64_t>& counts) {
  return enqueue("reduce_scatter", [&](std::uint32_t) -> std::function<void()> {
    // Gloo's halving-doubling reduce-scatter works in place and leaves this rank's piece at the
    // front of the buffer, so it runs on a copy of the input. (It takes its slots from the
    // context, not from a tag.)
    const Tensor scratch = input.clone();
    const std::vector<int> pieces(counts.begin(), counts.end());
    const bool is_max = combined_with(op, input.dtype()) == ReduceOp::max;
    std::function<void()> reduce;
    dispatch_all_types<HostHalfTypes>(carried_as(input.dtype()), "reduce_scatter", [&]<class T>() {
      if constexpr (!std::is_same_v<T, bool>) {  // bool never comes: it travels as u8
        auto algorithm = std::make_shared<ReduceScatter<T>>(context_, static_cast<T*>(bytes_of(scratch)), pieces, is_max);
        reduce = [algorithm] { algorithm->run(); };
      }
    });
    return [this, output, scratch, op, reduce] {
      reduce();
      std::memcpy(bytes_of(output), bytes_of(scratch),
                  static_cast<std::size_t>(output.numel()) * size_of(output.dtype()));
      divide_if_average(output, op, size());
    };
  });
}

std::shared_ptr<Work> GlooProcessGroup::run_all_gather(const Tensor& output, const Tensor& input,
                                                       const std::vector<std::int64_t>& counts) {
  return enqueue("all_gather", [&](std::uint32_t tag) -> std::function<void()> {
    return [this, output, input, counts, tag] {
      // Gathering only moves data, so it moves bytes whatever the dtype.
      const std::size_t element_size = size_of(input.dtype());
      std::vector<std::size_t> byte_counts;
      for (const std::int64_t count : counts) byte_counts.push_back(static_cast<std::size_t>(count) * element_size);
      gloo::AllgathervOptions options(context_);
      // Gloo takes a mutable pointer to the input but only reads it.
      options.setInput(static_cast<std::uint8_t*>(bytes_of(input)), byte_counts[static_cast<std::size_t>(rank())]);
      options.setOutput(static_cast<std::uint8_t*>(bytes_of(output)), byte_counts);
      options.setTag(tag);
      options.setTimeout(timeout());
      gloo::allgatherv(options);
    };
  });
}

std::shared_ptr<Work> GlooProcessGroup::run_broadcast(const Tensor& tensor, int root) {
  return enqueue("broadcast", [&](std::uint32_t tag) -> std::function<void()> {
    return [this, tensor, root, tag] {
      if (tensor.numel() == 0) return;
      gloo::BroadcastOptions options(context_);
      options.setOutput(static_cast<std::uint8_t*>(bytes_of(tensor)),
                        static_cast<std::size_t>(tensor.numel()) * size_of(tensor.dtype()));
      options.setRoot(root);
      options.setTag(tag);
      options.setTimeout(timeout());
      gloo::broadcast(options);
    };
  });
}

std::shared_ptr<Work> GlooProcessGroup::run_barrier() {
  return enqueue("barrier", [&](std::uint32_t tag) -> std::function<void()> {
    // As PyTorch's: the barrier also waits for this rank's earlier collectives (the other thread
    // may still run one). They were all taken from the queue before this job, so none waits on it.
    std::vector<std::shared_ptr<Work>> earlier;
    for (const std::weak_ptr<Work>& issued : issued_) {
      if (auto work = issued.lock()) earlier.push_back(std::move(work));
    }
    issued_.clear();
    return [this, tag, earlier] {
      for (const auto& work : earlier) work->wait();
      gloo::BarrierOptions options(context_);
      options.setTag(tag);
      options.setTimeout(timeout());
      gloo::barrier(options);
    };
  });
}

}  // namespace ember::distributed
