#include "core/host_allocator.h"

#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <map>
#include <mutex>

namespace ember {

namespace {

constexpr std::size_t kAlignment = 64;
constexpr std::size_t kHugePage = std::size_t{2} << 20;
// Blocks from here up are cached (sizes rounded to 64 KiB so near sizes share entries); glibc
// serves them with fresh mmap'd pages otherwise, a page fault per 4 KiB on every allocation.
constexpr std::size_t kCachedFrom = std::size_t{256} << 10;
constexpr std::size_t kCacheGranule = std::size_t{64} << 10;
// The cache never holds more than this; beyond it freed blocks go back to the system.
constexpr std::size_t kCacheLimit = std::size_t{1} << 30;

std::size_t round_up(std::size_t n, std::size_t multiple) { return (n + multiple - 1) / multiple * multiple; }

struct BlockCache {
  std::mutex mutex;
  std::multimap<std::size_t, void*> free_blocks;  // rounded size -> block
  std::size_t cached_bytes = 0, hits = 0, misses = 0;
};

BlockCache& cache() {
  static BlockCache* instance = new BlockCache;  // never destroyed: tensors may outlive statics
  return *instance;
}

// Bytes held by tensors, and their peak: counted outside the cache's lock (every allocation
// passes here, small ones too).
std::atomic<std::size_t> allocated{0};
std::atomic<std::size_t> peak_allocated{0};

void count_allocation(std::size_t nbytes) {
  const std::size_t now = allocated.fetch_add(nbytes, std::memory_order_relaxed) + nbytes;
  std::size_t peak = peak_allocated.load(std::memory_order_relaxed);
  while (now > peak && !peak_allocated.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
  }
}

// The size a cached block really has: huge-page multiples from 2 MiB, granule multiples below.
std::size_t cached_size(std::size_t nbytes) {
  return nbytes >= kHugePage ? round_up(nbytes, kHugePage) : round_up(nbytes, kCacheGranule);
}

}  // namespace

void* host_allocate(std::size_t nbytes) {
  count_allocation(nbytes);
  if (nbytes < kCachedFrom) return std::aligned_alloc(kAlignment, round_up(std::max<std::size_t>(nbytes, 1), kAlignment));
  const std::size_t rounded = cached_size(nbytes);
  {
    BlockCache& blocks = cache();
    std::lock_guard lock(blocks.mutex);
    const auto found = blocks.free_blocks.find(rounded);
    if (found != blocks.free_blocks.end()) {
      void* data = found->second;
      blocks.free_blocks.erase(found);
      blocks.cached_bytes -= rounded;
      ++blocks.hits;
      return data;
    }
    ++blocks.misses;
  }
  if (rounded < kHugePage) return std::aligned_alloc(kAlignment, rounded);
  void* data = std::aligned_alloc(kHugePage, rounded);
  if (data != nullptr) madvise(data, rounded, MADV_HUGEPAGE);  // a hint: failure is harmless
  return data;
}

void host_release(void* data, std::size_t nbytes) {
  allocated.fetch_sub(nbytes, std::memory_order_relaxed);
  if (nbytes < kCachedFrom) {
    std::free(data);
    return;
  }
  const std::size_t rounded = cached_size(nbytes);
  BlockCache& blocks = cache();
  {
    std::lock_guard lock(blocks.mutex);
    if (blocks.cached_bytes + rounded <= kCacheLimit) {
      blocks.free_blocks.emplace(rounded, data);
      blocks.cached_bytes += rounded;
      return;
    }
  }
  std::free(data);
}

HostMemoryStats host_memory_stats() {
  BlockCache& blocks = cache();
  std::lock_guard lock(blocks.mutex);
  return {allocated.load(), peak_allocated.load(), blocks.cached_bytes, blocks.hits, blocks.misses};
}

void host_reset_peak_memory() { peak_allocated.store(allocated.load()); }

void host_empty_cache() {
  BlockCache& blocks = cache();
  std::lock_guard lock(blocks.mutex);
  for (const auto& entry : blocks.free_blocks) std::free(entry.second);
  blocks.free_blocks.clear();
  blocks.cached_bytes = 0;
}

}  // namespace ember
