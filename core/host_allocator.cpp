#include "core/host_allocator.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <list>
#include <map>
#include <mutex>
#include <unordered_map>

namespace ember {

namespace {

constexpr std::size_t kAlignment = 64;
constexpr std::size_t kHugePage = std::size_t{2} << 20;
// Blocks from here up come from the segments below; smaller ones from malloc, which keeps them
// in its own free lists.
constexpr std::size_t kLargeFrom = std::size_t{256} << 10;
// Large blocks are multiples of this; a split leaves no free piece smaller.
constexpr std::size_t kGranule = std::size_t{64} << 10;
// Requests up to this share segments of this size; larger ones get a segment of their own.
constexpr std::size_t kSharedSegment = std::size_t{32} << 20;

std::size_t round_up(std::size_t n, std::size_t multiple) { return (n + multiple - 1) / multiple * multiple; }

// Free segments are kept up to an eighth of the machine's memory (and at least 1 GiB): enough
// for a training step's activations to come back from them the next step.
std::size_t cache_limit() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  const std::size_t memory =
      pages > 0 && page > 0 ? static_cast<std::size_t>(pages) * static_cast<std::size_t>(page) : 0;
  return std::max(std::size_t{1} << 30, memory / 8);
}

// Large blocks are cut from segments (huge-page backed allocations from the system), the way
// PyTorch's CUDA caching allocator cuts device memory: a request takes the smallest free block
// that fits, split when the rest is worth keeping; a freed block merges with the free blocks
// beside it. Tensors of ragged shapes (images of every width) thus reuse the memory of earlier
// ones instead of faulting in fresh pages, which the kernel must clear first. Free memory above
// the limit goes back to the system one wholly free segment at a time, the oldest first.
class SegmentPool {
 public:
  void* allocate(std::size_t nbytes) {
    const std::size_t size = round_up(nbytes, kGranule);
    std::lock_guard lock(mutex_);
    auto fit = free_.lower_bound(size);
    if (fit != free_.end()) {
      ++hits_;
    } else {
      ++misses_;
      fit = add_segment(size);
      if (fit == free_.end()) return nullptr;
    }
    Block* block = fit->second;
    free_.erase(fit);
    free_bytes_ -= block->size;
    if (block->size - size >= kGranule) split(block, size);
    block->used = true;
    used_.emplace(block->data, block);
    return block->data;
  }

  void release(void* data) {
    std::lock_guard lock(mutex_);
    const auto found = used_.find(data);
    Block* block = found->second;
    used_.erase(found);
    block->used = false;
    if (block->next != nullptr && !block->next->used) absorb_next(block);
    if (block->prev != nullptr && !block->prev->used) {
      block = block->prev;
      unindex(block);
      absorb_next(block);
    }
    index(block);
    while (free_bytes_ > limit_ && release_oldest_free_segment()) {
    }
  }

  std::size_t free_bytes() {
    std::lock_guard lock(mutex_);
    return free_bytes_;
  }
  std::size_t hits() {
    std::lock_guard lock(mutex_);
    return hits_;
  }
  std::size_t misses() {
    std::lock_guard lock(mutex_);
    return misses_;
  }
  void release_free_segments() {
    std::lock_guard lock(mutex_);
    while (release_oldest_free_segment()) {
    }
  }

 private:
  struct Block {
    char* data;
    std::size_t size;
    bool used = false;
    Block* prev = nullptr;  // the neighbours in the same segment
    Block* next = nullptr;
  };
  struct Segment {
    char* data;
    std::size_t size;
    Block* first;
  };

  std::multimap<std::size_t, Block*>::iterator add_segment(std::size_t size) {
    const std::size_t bytes = size <= kSharedSegment ? kSharedSegment : round_up(size, kHugePage);
    char* data = static_cast<char*>(std::aligned_alloc(kHugePage, bytes));
    if (data == nullptr) return free_.end();
    madvise(data, bytes, MADV_HUGEPAGE);  // a hint: failure is harmless
    Block* block = new Block{data, bytes};
    segments_.push_back({data, bytes, block});
    free_bytes_ += bytes;
    return free_.emplace(bytes, block);
  }

  void split(Block* block, std::size_t size) {
    Block* rest = new Block{block->data + size, block->size - size, false, block, block->next};
    if (block->next != nullptr) block->next->prev = rest;
    block->next = rest;
    block->size = size;
    index(rest);
  }

  // Merges the (free, unindexed) block after `block` into it.
  void absorb_next(Block* block) {
    Block* next = block->next;
    unindex(next);
    block->size += next->size;
    block->next = next->next;
    if (next->next != nullptr) next->next->prev = block;
    delete next;
  }

  void index(Block* block) {
    free_.emplace(block->size, block);
    free_bytes_ += block->size;
  }
  void unindex(Block* block) {
    const auto range = free_.equal_range(block->size);
    for (auto it = range.first; it != range.second; ++it) {
      if (it->second == block) {
        free_.erase(it);
        free_bytes_ -= block->size;
        return;
      }
    }
  }

  bool release_oldest_free_segment() {
    for (auto it = segments_.begin(); it != segments_.end(); ++it) {
      Block* block = it->first;
      if (block->used || block->size != it->size) continue;  // some of it is in use
      unindex(block);
      delete block;
      std::free(it->data);
      segments_.erase(it);
      return true;
    }
    return false;
  }

  std::mutex mutex_;
  std::list<Segment> segments_;              // oldest first
  std::multimap<std::size_t, Block*> free_;  // free blocks by size
  std::unordered_map<void*, Block*> used_;   // blocks tensors hold
  const std::size_t limit_ = cache_limit();
  std::size_t free_bytes_ = 0, hits_ = 0, misses_ = 0;
};

SegmentPool& pool() {
  static SegmentPool* instance = new SegmentPool;  // never destroyed: tensors may outlive statics
  return *instance;
}

// Bytes held by tensors, and their peak: counted outside the pool's lock (every allocation
// passes here, small ones too).
std::atomic<std::size_t> allocated{0};
std::atomic<std::size_t> peak_allocated{0};
std::atomic<bool> poison_blocks{false};  // host_set_poison_allocations

void count_allocation(std::size_t nbytes) {
  const std::size_t now = allocated.fetch_add(nbytes, std::memory_order_relaxed) + nbytes;
  std::size_t peak = peak_allocated.load(std::memory_order_relaxed);
  while (now > peak && !peak_allocated.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
  }
}

}  // namespace

void* host_allocate(std::size_t nbytes) {
  count_allocation(nbytes);
  void* block = nbytes < kLargeFrom
                    ? std::aligned_alloc(kAlignment, round_up(std::max<std::size_t>(nbytes, 1), kAlignment))
                    : pool().allocate(nbytes);
  if (poison_blocks.load(std::memory_order_relaxed)) std::memset(block, 0xFF, nbytes);
  return block;
}

void host_release(void* data, std::size_t nbytes) {
  allocated.fetch_sub(nbytes, std::memory_order_relaxed);
  if (nbytes < kLargeFrom) {
    std::free(data);
  } else {
    pool().release(data);
  }
}

HostMemoryStats host_memory_stats() {
  SegmentPool& segments = pool();
  return {allocated.load(), peak_allocated.load(), segments.free_bytes(), segments.hits(), segments.misses()};
}

void host_reset_peak_memory() { peak_allocated.store(allocated.load()); }

void host_empty_cache() { pool().release_free_segments(); }

void host_set_poison_allocations(bool poison) { poison_blocks.store(poison); }

}  // namespace ember
