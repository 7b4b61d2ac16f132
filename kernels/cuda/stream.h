#pragma once
// The device and stream ember's CUDA work goes to on the calling thread.
//
// Kernels, copies and allocations use current_stream(): the legacy default stream unless a
// StreamGuard names another (the distributed layer runs its collectives on a stream of its own
// so that they overlap compute).
#include <cuda_runtime_api.h>

namespace ember::kernels::cuda {

cudaStream_t current_stream();

class StreamGuard {
 public:
  explicit StreamGuard(cudaStream_t stream);
  ~StreamGuard();
  StreamGuard(const StreamGuard&) = delete;
  StreamGuard& operator=(const StreamGuard&) = delete;

 private:
  cudaStream_t previous_;
};

// Makes `device` current for CUDA calls while alive (and restores the previous one).
class DeviceGuard {
 public:
  explicit DeviceGuard(int device);
  ~DeviceGuard();
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int previous_;
};

// The current device's multiprocessor count (cached): grids are sized from it.
int multiprocessor_count();

}  // namespace ember::kernels::cuda
