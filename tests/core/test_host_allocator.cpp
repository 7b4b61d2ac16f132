// The host allocator: alignment, and reuse of large blocks.
#include <cstdint>

#include "core/host_allocator.h"
#include "helpers.h"

using namespace ember;

TEST_CASE("small blocks are cache-line aligned and large ones sit on 64 KiB boundaries") {
  const Tensor small = empty({3});
  CHECK(reinterpret_cast<std::uintptr_t>(small.data_ptr()) % 64 == 0);
  const Tensor large = empty({1 << 20});  // 4 MiB of f32
  CHECK(reinterpret_cast<std::uintptr_t>(large.data_ptr()) % (64 << 10) == 0);
}

TEST_CASE("a freed large block is reused by the next allocation of its size") {
  host_empty_cache();
  const HostMemoryStats before = host_memory_stats();
  void* first = nullptr;
  {
    const Tensor t = empty({1 << 20});
    first = t.data_ptr();
  }
  // The 4 MiB came from a new 32 MiB segment, now wholly free again.
  CHECK(host_memory_stats().cached_bytes == before.cached_bytes + (32u << 20));
  CHECK(host_memory_stats().misses == before.misses + 1);
  const Tensor again = empty({1 << 20});
  CHECK(again.data_ptr() == first);
  CHECK(host_memory_stats().hits == before.hits + 1);
}

TEST_CASE("free memory is split for smaller requests and merged back for larger ones") {
  host_empty_cache();
  const HostMemoryStats before = host_memory_stats();
  char* first = nullptr;
  {
    const Tensor block = empty({5 << 20});  // 20 MiB from a new 32 MiB segment
    first = static_cast<char*>(block.data_ptr());
  }
  {
    // Two 8 MiB tensors cut from the freed 32 MiB, one after the other.
    const Tensor a = empty({2 << 20}), b = empty({2 << 20});
    CHECK(static_cast<char*>(a.data_ptr()) == first);
    CHECK(static_cast<char*>(b.data_ptr()) == first + (8 << 20));
    CHECK(host_memory_stats().cached_bytes == 16u << 20);
  }
  // Both freed: merged back into the whole segment, which serves 30 MiB at once.
  CHECK(host_memory_stats().cached_bytes == 32u << 20);
  const Tensor large = empty({15 << 19});
  CHECK(static_cast<char*>(large.data_ptr()) == first);
  CHECK(host_memory_stats().misses == before.misses + 1);  // one segment for all of it
  CHECK(host_memory_stats().hits == before.hits + 3);
}

TEST_CASE("the allocator counts the bytes tensors hold and their peak") {
  const std::size_t base = host_memory_stats().allocated_bytes;
  host_reset_peak_memory();
  CHECK(host_memory_stats().peak_allocated_bytes == base);
  {
    const Tensor a = empty({1000});         // 4,000 bytes
    const Tensor b = empty({250000});       // 1,000,000 bytes
    CHECK(host_memory_stats().allocated_bytes == base + 1004000);
  }
  const Tensor c = empty({10}, {.dtype = DType::f64});  // 80 bytes, after a and b are gone
  const HostMemoryStats stats = host_memory_stats();
  CHECK(stats.allocated_bytes == base + 80);
  CHECK(stats.peak_allocated_bytes == base + 1004000);
}
