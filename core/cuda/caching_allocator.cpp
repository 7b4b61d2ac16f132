// The CUDA caching allocator and the pinned host-memory cache (core/cuda.h).
#include <algorithm>
#include <atomic>
#include <bit>
#include <map>
#include <mutex>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "core/cuda.h"
#include "core/cuda/pinned_use.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/stream.h"

namespace ember::cuda {

namespace {

using kernels::cuda::current_stream;
using kernels::cuda::DeviceGuard;

constexpr std::size_t kMinBlock = 512;

// Sizes round up to one of four steps per power of two (2^k, 1.25, 1.5, 1.75 x 2^k), at least
// 512 bytes: a freed block serves any later request of its bin, and rounding wastes under 25%.
std::size_t bin_size(std::size_t nbytes) {
  const std::size_t n = std::max(nbytes, kMinBlock);
  const std::size_t step = std::max(std::bit_floor(n) / 4, kMinBlock);
  return (n + step - 1) / step * step;
}

struct LiveBlock {
  std::size_t size;
  int device;
  cudaStream_t stream;
};

struct DeviceCache {
  std::mutex mutex;
  // (device, stream, binned size) -> free blocks: reuse only on the stream that freed them.
  std::map<std::tuple<int, cudaStream_t, std::size_t>, std::vector<void*>> free_blocks;
  std::unordered_map<void*, LiveBlock> live;
  std::map<int, MemoryStats> stats;

  // cudaFree of every free block (of `device`, or of all devices when -1); caller holds mutex.
  void free_cached(int device) {
    for (auto entry = free_blocks.begin(); entry != free_blocks.end();) {
      const auto& [block_device, stream, size] = entry->first;
      if (device >= 0 && block_device != device) {
        ++entry;
        continue;
      }
      DeviceGuard guard(block_device);
      for (void* block : entry->second) {
        EMBER_CUDA_CHECK(cudaFree(block));
        stats[block_device].reserved -= size;
      }
      entry = free_blocks.erase(entry);
    }
  }
};

std::atomic<bool> poison_blocks{false};

DeviceCache& device_cache() {
  static DeviceCache* cache = new DeviceCache;  // never destroyed: tensors may outlive statics
  return *cache;
}

struct PinnedBlock {
  void* data;
  cudaEvent_t last_use;  // recorded after the latest asynchronous copy from it (or null)
};

struct PinnedCache {
  std::mutex mutex;
  std::multimap<std::size_t, PinnedBlock> free_blocks;
  std::unordered_map<const void*, std::pair<std::size_t, cudaEvent_t>> live;
};

PinnedCache& pinned_cache() {
  static PinnedCache* cache = new PinnedCache;
  return *cache;
}

}  // namespace

void* allocate(std::size_t nbytes, int device) {
  const std::size_t size = bin_size(nbytes);
  const cudaStream_t stream = current_stream();
  DeviceCache& cache = device_cache();
  std::lock_guard lock(cache.mutex);
  MemoryStats& stats = cache.stats[device];
  DeviceGuard guard(device);
  void* block = nullptr;
  auto& bin = cache.free_blocks[{device, stream, size}];
  if (!bin.empty()) {
    block = bin.back();
    bin.pop_back();
  } else {
    cudaError_t status = cudaMalloc(&block, size);
    if (status == cudaErrorMemoryAllocation) {
      cudaGetLastError();  // clear the sticky-free error state before retrying
      cache.free_cached(device);
      status = cudaMalloc(&block, size);
    }
    if (status == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      fail("CUDA out of memory: tried to allocate ", size, " bytes on cuda:", device, " (", stats.allocated,
           " bytes allocated by ember, ", stats.reserved, " reserved)");
    }
    EMBER_CUDA_CHECK(status);
    stats.reserved += size;
  }
  cache.live[block] = {size, device, stream};
  stats.allocated += size;
  stats.peak_allocated = std::max(stats.peak_allocated, stats.allocated);
  if (poison_blocks) EMBER_CUDA_CHECK(cudaMemsetAsync(block, 0xFF, size, stream));
  return block;
}

void release(void* data) {
  DeviceCache& cache = device_cache();
  std::lock_guard lock(cache.mutex);
  const auto found = cache.live.find(data);
  EMBER_CHECK(found != cache.live.end(), "cuda::release: ", data, " was not allocated by ember's caching allocator");
  const LiveBlock block = found->second;
  cache.live.erase(found);
  cache.free_blocks[{block.device, block.stream, block.size}].push_back(data);
  cache.stats[block.device].allocated -= block.size;
}

MemoryStats memory_stats(int device) {
  DeviceCache& cache = device_cache();
  std::lock_guard lock(cache.mutex);
  return cache.stats[device];
}

void reset_peak_memory_stats(int device) {
  DeviceCache& cache = device_cache();
  std::lock_guard lock(cache.mutex);
  MemoryStats& stats = cache.stats[device];
  stats.peak_allocated = stats.allocated;
}

void empty_cache() {
  DeviceCache& cache = device_cache();
  std::lock_guard lock(cache.mutex);
  cache.free_cached(-1);
}

void set_poison_allocations(bool poison) { poison_blocks = poison; }

void* allocate_pinned(std::size_t nbytes) {
  const std::size_t size = bin_size(nbytes);
  PinnedCache& cache = pinned_cache();
  std::lock_guard lock(cache.mutex);
  const auto [first, last] = cache.free_blocks.equal_range(size);
  for (auto entry = first; entry != last; ++entry) {
    const PinnedBlock block = entry->second;
    // Reusable once the last asynchronous copy that read it is done.
    if (block.last_use != nullptr && cudaEventQuery(block.last_use) != cudaSuccess) continue;
    cache.free_blocks.erase(entry);
    cache.live[block.data] = {size, block.last_use};
    return block.data;
  }
  void* data = nullptr;
  EMBER_CUDA_CHECK(cudaHostAlloc(&data, size, cudaHostAllocDefault));
  cache.live[data] = {size, nullptr};
  return data;
}

void release_pinned(void* data) {
  PinnedCache& cache = pinned_cache();
  std::lock_guard lock(cache.mutex);
  const auto found = cache.live.find(data);
  EMBER_CHECK(found != cache.live.end(), "cuda::release_pinned: ", data, " is not an ember pinned block");
  cache.free_blocks.emplace(found->second.first, PinnedBlock{data, found->second.second});
  cache.live.erase(found);
}

bool is_pinned(const void* data) {
  PinnedCache& cache = pinned_cache();
  std::lock_guard lock(cache.mutex);
  return cache.live.count(data) != 0;
}

namespace detail {

void record_pinned_use(const void* data, cudaStream_t stream) {
  PinnedCache& cache = pinned_cache();
  std::lock_guard lock(cache.mutex);
  auto& [size, event] = cache.live.at(data);
  if (event == nullptr) EMBER_CUDA_CHECK(cudaEventCreateWithFlags(&event, cudaEventDisableTiming));
  EMBER_CUDA_CHECK(cudaEventRecord(event, stream));
}

}  // namespace detail

}  // namespace ember::cuda
