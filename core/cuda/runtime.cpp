// Devices, synchronization and copies of the CUDA build (core/cuda.h).
#include "core/cuda.h"
#include "core/host_sync.h"
#include "core/cuda/pinned_use.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/stream.h"

namespace ember::cuda {

using kernels::cuda::current_stream;
using kernels::cuda::DeviceGuard;

bool is_built() { return true; }

int device_count() {
  // Asked once: a machine without a GPU (or driver) answers with an error, which means zero.
  static const int count = [] {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
      cudaGetLastError();
      return 0;
    }
    return n;
  }();
  return count;
}

void check_device(const char* op, Device device) {
  if (!device.is_cuda()) return;
  const int count = device_count();
  EMBER_CHECK(count > 0, op, ": tensor on ", device, ", but no CUDA device is available on this machine");
  EMBER_CHECK(device.index >= 0 && device.index < count, op, ": ", device, " does not exist (this machine has ", count,
              " CUDA device", count == 1 ? "" : "s", ")");
}

void synchronize() {
  ember::detail::count_host_sync();
  EMBER_CUDA_CHECK(cudaDeviceSynchronize());
}

void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, std::size_t nbytes,
                bool non_blocking) {
  if (nbytes == 0) return;
  check_device("copy", dst_device);
  check_device("copy", src_device);
  // The device whose stream runs the copy: the GPU side (the destination's for GPU to GPU).
  const int device = dst_device.is_cuda() ? dst_device.index : src_device.index;
  DeviceGuard guard(device);
  const cudaStream_t stream = current_stream();
  EMBER_CUDA_CHECK(cudaMemcpyAsync(dst, src, nbytes, cudaMemcpyDefault, stream));
  const bool async_from_pinned = non_blocking && src_device.is_cpu() && dst_device.is_cuda() && is_pinned(src);
  if (async_from_pinned) {
    detail::record_pinned_use(src, stream);
  } else {
    ember::detail::count_host_sync();
    EMBER_CUDA_CHECK(cudaStreamSynchronize(stream));
  }
}

}  // namespace ember::cuda
