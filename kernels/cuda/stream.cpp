#include "kernels/cuda/stream.h"

#include <array>
#include <mutex>

#include "kernels/cuda/check.h"

namespace ember::kernels::cuda {

namespace {
thread_local cudaStream_t stream_in_use = nullptr;  // nullptr: the legacy default stream
}  // namespace

cudaStream_t current_stream() { return stream_in_use; }

StreamGuard::StreamGuard(cudaStream_t stream) : previous_(stream_in_use) { stream_in_use = stream; }
StreamGuard::~StreamGuard() { stream_in_use = previous_; }

DeviceGuard::DeviceGuard(int device) : previous_(0) {
  EMBER_CUDA_CHECK(cudaGetDevice(&previous_));
  if (previous_ != device) EMBER_CUDA_CHECK(cudaSetDevice(device));
}

DeviceGuard::~DeviceGuard() {
  int device = previous_;
  // A destructor must not throw; restoring a device that existed a moment ago cannot fail.
  if (cudaGetDevice(&device) == cudaSuccess && device != previous_) cudaSetDevice(previous_);
}

int multiprocessor_count() {
  constexpr int kMaxDevices = 64;
  static std::array<int, kMaxDevices> counts{};
  static std::mutex mutex;
  int device = 0;
  EMBER_CUDA_CHECK(cudaGetDevice(&device));
  std::lock_guard lock(mutex);
  int& count = counts.at(static_cast<std::size_t>(device));
  if (count == 0) EMBER_CUDA_CHECK(cudaDeviceGetAttribute(&count, cudaDevAttrMultiProcessorCount, device));
  return count;
}

}  // namespace ember::kernels::cuda
