#pragma once
// The CUDA device layer as the rest of ember sees it: whether there is a GPU, the caching
// allocator and its counters, pinned host memory and copies between devices. No CUDA header is
// needed to include this; a build without CUDA (EMBER_CUDA=OFF) answers "no devices" and raises
// an Error for everything that would need one.
#include <cstddef>

#include "core/device.h"

namespace ember::cuda {

// Whether this build has the CUDA backend at all.
bool is_built();
// CUDA devices this process can use (0 without a GPU, a driver, or a CUDA build).
int device_count();
inline bool is_available() { return device_count() > 0; }
// Errors naming `op` unless `device` is a usable CUDA device.
void check_device(const char* op, Device device);
// Waits until every kernel and copy queued on the current device has finished.
void synchronize();

// --- the caching allocator ---------------------------------------------------------------
// Device memory comes from size-binned free lists, one per (device, stream): a block freed on a
// stream is reused by later work queued on that same stream, which runs after the block's last
// use, so no synchronization is needed. cudaMalloc runs only when the bin is empty; when it
// fails, the cache is emptied and the call retried once before an out-of-memory Error.
void* allocate(std::size_t nbytes, int device);
void release(void* data);

struct MemoryStats {
  std::size_t allocated;       // bytes in blocks tensors hold now (sizes as binned)
  std::size_t reserved;        // allocated + bytes cached for reuse: what cudaMalloc handed out
  std::size_t peak_allocated;  // the most `allocated` has been since the last reset
};
MemoryStats memory_stats(int device);
void reset_peak_memory_stats(int device);
// Returns every cached, unused block to CUDA (cudaFree).
void empty_cache();
// For tests: fill every block handed out with 0xFF bytes (NaN for floats, -1 for integers), so
// an output element a kernel forgot to write shows up instead of passing by luck.
void set_poison_allocations(bool poison);

// --- pinned (page-locked) host memory ----------------------------------------------------
// Host memory the GPU can read by DMA: a copy from it to the device can run asynchronously.
// Cached like device blocks; a freed block is reused only once the copies that read it finished.
void* allocate_pinned(std::size_t nbytes);
void release_pinned(void* data);
bool is_pinned(const void* data);

// Copies nbytes between any two devices (cpu <-> cuda, cuda <-> cuda) on the current stream.
// Returns once the copy finished, except host-to-device from pinned memory with `non_blocking`,
// which returns at once (the pinned block is kept from reuse until the copy is done).
void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, std::size_t nbytes,
                bool non_blocking = false);

}  // namespace ember::cuda
