#include "distributed/nccl_process_group.h"

#include <nccl.h>

#include <algorithm>
#include <cstring>

#include "core/cuda.h"
#include "core/ops/factory.h"
#include "core/cuda/runtime.h"

namespace ember::distributed {

namespace {

// The key rank 0 publishes the NCCL unique id under.
constexpr const char* kUniqueIdKey = "ember/nccl_unique_id";
// How often a waiting thread asks NCCL or CUDA whether something finished.
constexpr auto kPollInterval = std::chrono::microseconds(100);

ncclDataType_t nccl_type(DType dtype) {
  switch (dtype) {
    case DType::f32: return ncclFloat32;
    case DType::f64: return ncclFloat64;
    case DType::f16: return ncclFloat16;
    case DType::bf16: return ncclBfloat16;
    case DType::i32: return ncclInt32;
    case DType::i64: return ncclInt64;
    case DType::u8: return ncclUint8;
    case DType::b8: return ncclUint8;  // one byte each, combined with max ("or")
  }
  fail("nccl: unsupported dtype ", name(dtype));
}

// bool tensors combine with max, which is "or" for sum and max alike.
ncclRedOp_t nccl_op(ReduceOp op, DType dtype) {
  if (op == ReduceOp::max || dtype == DType::b8) return ncclMax;
  return op == ReduceOp::sum ? ncclSum : ncclAvg;
}

std::string nccl_error(int result, ncclComm_t comm) {
  std::string message = std::string("NCCL error: ") + ncclGetErrorString(static_cast<ncclResult_t>(result));
  const char* detail = ncclGetLastError(comm);
  if (detail != nullptr && *detail != '\0') message += std::string(" (") + detail + ")";
  return message;
}

std::string timeout_reason(std::chrono::milliseconds timeout) {
  return "no progress within " + std::to_string(timeout.count()) +
         " ms (another rank died, stalled or called a different collective); the group was aborted";
}

// Whether every rank's piece has the same size: NCCL's own reduce-scatter / all-gather apply.
bool equal_pieces(const std::vector<std::int64_t>& counts) {
  return std::all_of(counts.begin(), counts.end(), [&](std::int64_t count) { return count == counts.front(); });
}

std::byte* bytes_of(const Tensor& tensor) { return static_cast<std::byte*>(tensor.data_ptr()); }

}  // namespace

NcclProcessGroup::NcclProcessGroup(const std::shared_ptr<Store>& store, int rank, int size, int cuda_device,
                                   std::chrono::milliseconds timeout)
    : ProcessGroup(rank, size, timeout), cuda_device_(cuda_device) {
  EMBER_CHECK(store != nullptr, "NcclProcessGroup: no store");
  const int gpus = cuda::device_count();
  EMBER_CHECK(cuda_device >= 0 && cuda_device < gpus, "NcclProcessGroup: rank ", rank, " needs GPU cuda:", cuda_device,
              " (one GPU per process on each machine: cuda:LOCAL_RANK), but this machine has ", gpus, " CUDA device",
              gpus == 1 ? "" : "s");
  cuda::DeviceGuard on_device(cuda_device_);
  ncclUniqueId id;
  if (rank == 0) {
    const ncclResult_t made = ncclGetUniqueId(&id);
    EMBER_CHECK(made == ncclSuccess, "NcclProcessGroup: ncclGetUniqueId failed: ", nccl_error(made, nullptr));
    store->set(kUniqueIdKey, std::vector<char>(id.internal, id.internal + sizeof(id.internal)));
  } else {
    const std::vector<char> published = store->get(kUniqueIdKey);
    EMBER_CHECK(published.size() == sizeof(id.internal), "NcclProcessGroup: the unique id in ", store->url(), " has ",
                published.size(), " bytes, expected ", sizeof(id.internal));
    std::memcpy(id.internal, published.data(), sizeof(id.internal));
  }
  EMBER_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  EMBER_CUDA_CHECK(cudaEventCreateWithFlags(&caller_ready_, cudaEventDisableTiming));
  ncclConfig_t config = NCCL_CONFIG_INITIALIZER;
  config.blocking = 0;  // every call returns at once; settle() bounds the wait
  try {
    std::lock_guard lock(mutex_);
    settle(ncclCommInitRankConfig(&comm_, size, id, rank, &config),
           "NcclProcessGroup: rank " + std::to_string(rank) + " of " + std::to_string(size) + " on " +
               device().str() + " joining through " + store->url());
  } catch (...) {
    cudaEventDestroy(caller_ready_);
    cudaStreamDestroy(stream_);
    throw;
  }
  watchdog_ = std::thread([this] { watchdog_loop(); });
}

NcclProcessGroup::~NcclProcessGroup() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  in_flight_changed_.notify_all();
  watchdog_.join();  // returns once every collective finished, failed or timed out
  {
    cuda::DeviceGuard on_device(cuda_device_);
    std::lock_guard lock(mutex_);
    if (comm_ != nullptr) {
      try {
        settle(ncclCommFinalize(comm_), describe_call("destroy"));
        ncclCommDestroy(comm_);
      } catch (const Error&) {
        // settle() aborted the communicator already; a destructor has nobody to tell.
      }
    }
    cudaEventDestroy(caller_ready_);
    cudaStreamDestroy(stream_);
  }
}

void NcclProcessGroup::settle(int result, const std::string& call) {
  const auto deadline = Clock::now() + timeout();
  auto state = static_cast<ncclResult_t>(result);
  while (state == ncclInProgress) {
    if (Clock::now() > deadline) {
      abort_group(timeout_reason(timeout()));
      fail(call, ": ", failure_);
    }
    std::this_thread::sleep_for(kPollInterval);
    if (ncclCommGetAsyncError(comm_, &state) != ncclSuccess) break;
  }
  if (state == ncclSuccess) return;
  abort_group(nccl_error(state, comm_));
  fail(call, ": ", failure_);
}

void NcclProcessGroup::abort_group(const std::string& reason) {
  if (comm_ != nullptr) {
    ncclCommAbort(comm_);  // also stops the kernels still waiting for a missing rank
    comm_ = nullptr;
  }
  failure_ = reason;
  for (InFlight& entry : in_flight_) {
    cudaEventDestroy(entry.done);
    entry.work->finish(std::make_exception_ptr(Error(entry.call + ": " + reason)));
  }
  in_flight_.clear();
}

std::shared_ptr<Work> NcclProcessGroup::launch(const char* op, std::vector<Tensor> tensors,
                                               const std::function<void()>& issue) {
  const std::string call = describe_call(op);
  cuda::DeviceGuard on_device(cuda_device_);
  std::lock_guard lock(mutex_);
  EMBER_CHECK(failure_.empty(), call, ": the group was aborted by an earlier failure: ", failure_);
  // The collective reads what the caller's stream has queued so far (a gradient, a bucket copy).
  EMBER_CUDA_CHECK(cudaEventRecord(caller_ready_, cuda::current_stream()));
  EMBER_CUDA_CHECK(cudaStreamWaitEvent(stream_, caller_ready_, 0));
  issue();
  cudaEvent_t done = nullptr;
  EMBER_CUDA_CHECK(cudaEventCreateWithFlags(&done, cudaEventDisableTiming));
  EMBER_CUDA_CHECK(cudaEventRecord(done, stream_));
  auto work = std::make_shared<Work>();
  in_flight_.push_back({call, done, std::move(tensors), work, Clock::now() + timeout()});
  in_flight_changed_.notify_all();
  return work;
}

void NcclProcessGroup::watchdog_loop() {
  cudaSetDevice(cuda_device_);  // event queries are made on the group's device
  std::unique_lock lock(mutex_);
  while (true) {
    if (in_flight_.empty()) {
      if (stopping_) return;
      in_flight_changed_.wait(lock, [this] { return stopping_ || !in_flight_.empty(); });
      continue;
    }
    // Collectives finish in the order they were queued on the one stream: watch the oldest.
    InFlight& oldest = in_flight_.front();
    const cudaError_t finished = cudaEventQuery(oldest.done);
    if (finished == cudaSuccess) {
      cudaEventDestroy(oldest.done);
      oldest.work->finish();
      in_flight_.pop_front();
      continue;
    }
    ncclResult_t state = ncclSuccess;
    if (finished != cudaErrorNotReady) {
      abort_group(std::string("CUDA error: ") + cudaGetErrorString(finished));
    } else if (ncclCommGetAsyncError(comm_, &state) == ncclSuccess && state != ncclSuccess &&
               state != ncclInProgress) {
      abort_group(nccl_error(state, comm_));  // e.g. a peer's connection closed
    } else if (Clock::now() > oldest.deadline) {
      abort_group(timeout_reason(timeout()));
    } else {
      in_flight_changed_.wait_for(lock, kPollInterval);
    }
  }
}

std::shared_ptr<Work> NcclProcessGroup::run_all_reduce(const Tensor& tensor, ReduceOp op) {
  return launch("all_reduce", {tensor}, [&] {
    if (tensor.numel() == 0) return;
    settle(ncclAllReduce(tensor.data_ptr(), tensor.data_ptr(), static_cast<std::size_t>(tensor.numel()),
                         nccl_type(tensor.dtype()), nccl_op(op, tensor.dtype()), comm_, stream_),
           describe_call("all_reduce"));
  });
}

std::shared_ptr<Work> NcclProcessGroup::run_reduce_scatter(const Tensor& output, const Tensor& input, ReduceOp op,
                                                           const std::vector<std::int64_t>& counts) {
  return launch("reduce_scatter", {output, input}, [&] {
    const ncclDataType_t type = nccl_type(input.dtype());
    const ncclRedOp_t reduction = nccl_op(op, input.dtype());
    const bool equal = equal_pieces(counts);
    if (equal) {
      if (counts[0] == 0) return;
      settle(ncclReduceScatter(input.data_ptr(), output.data_ptr(), static_cast<std::size_t>(counts[0]), type,
                               reduction, comm_, stream_),
             describe_call("reduce_scatter"));
      return;
    }
    // Unequal pieces: one reduce per piece, to its owner, fused into one NCCL group launch.
    const std::size_t element_size = size_of(input.dtype());
    settle(ncclGroupStart(), describe_call("reduce_scatter"));
    std::int64_t offset = 0;
    for (int root = 0; root < size(); ++root) {
      const std::int64_t count = counts[static_cast<std::size_t>(root)];
      if (count > 0) {
        // Only the root writes its receive buffer; the others pass theirs unused.
        settle(ncclReduce(bytes_of(input) + static_cast<std::size_t>(offset) * element_size, output.data_ptr(), static_cast<std::size_t>(count),
                          type, reduction, root, comm_, stream_),
               describe_call("reduce_scatter"));
      }
      offset += count;
    }
    settle(ncclGroupEnd(), describe_call("reduce_scatter"));
  });
}

std::shared_ptr<Work> NcclProcessGroup::run_all_gather(const Tensor& output, const Tensor& input,
                                                       const std::vector<std::int64_t>& counts) {
  return launch("all_gather", {output, input}, [&] {
    // Gathering only moves data, so it moves bytes whatever the dtype.
    const std::size_t element_size = size_of(input.dtype());
    const bool equal = equal_pieces(counts);
    if (equal) {
      if (counts[0] == 0) return;
      settle(ncclAllGather(input.data_ptr(), output.data_ptr(), static_cast<std::size_t>(counts[0]) * element_size,
                           ncclUint8, comm_, stream_),
             describe_call("all_gather"));
      return;
    }
    // Unequal pieces: each rank broadcasts its piece into its place, in one NCCL group launch.
    settle(ncclGroupStart(), describe_call("all_gather"));
    std::int64_t offset = 0;
    for (int root = 0; root < size(); ++root) {
      const std::int64_t count = counts[static_cast<std::size_t>(root)];
      if (count > 0) {
        settle(ncclBroadcast(input.data_ptr(), bytes_of(output) + static_cast<std::size_t>(offset) * element_size,
                             static_cast<std::size_t>(count) * element_size, ncclUint8, root, comm_, stream_),
               describe_call("all_gather"));
      }
      offset += count;
    }
    settle(ncclGroupEnd(), describe_call("all_gather"));
  });
}

std::shared_ptr<Work> NcclProcessGroup::run_broadcast(const Tensor& tensor, int root) {
  return launch("broadcast", {tensor}, [&] {
    if (tensor.numel() == 0) return;
    settle(ncclBroadcast(tensor.data_ptr(), tensor.data_ptr(),
                         static_cast<std::size_t>(tensor.numel()) * size_of(tensor.dtype()), ncclUint8, root, comm_,
                         stream_),
           describe_call("broadcast"));
  });
}

std::shared_ptr<Work> NcclProcessGroup::run_barrier() {
  // NCCL has no barrier: a one-element all-reduce finishes only once every rank has joined it.
  const Tensor token = zeros({1}, {.dtype = DType::f32, .device = device()});
  return launch("barrier", {token}, [&] {
    settle(ncclAllReduce(token.data_ptr(), token.data_ptr(), 1, ncclFloat32, ncclSum, comm_, stream_),
           describe_call("barrier"));
  });
}

}  // namespace ember::distributed
