// The host allocator: alignment, and reuse of large blocks.
#include <cstdint>

#include "core/host_allocator.h"
#include "helpers.h"

using namespace ember;

TEST_CASE("small blocks are cache-line aligned and large ones huge-page aligned") {
  const Tensor small = empty({3});
  CHECK(reinterpret_cast<std::uintptr_t>(small.data_ptr()) % 64 == 0);
  const Tensor large = empty({1 << 20});  // 4 MiB of f32
  CHECK(reinterpret_cast<std::uintptr_t>(large.data_ptr()) % (2 << 20) == 0);
}

TEST_CASE("a freed large block is reused by the next allocation of its size") {
  host_empty_cache();
  const HostMemoryStats before = host_memory_stats();
  void* first = nullptr;
  {
    const Tensor t = empty({1 << 20});
    first = t.data_ptr();
  }
  CHECK(host_memory_stats().cached_bytes == before.cached_bytes + (4u << 20));
  const Tensor again = empty({1 << 20});
  CHECK(again.data_ptr() == first);
  CHECK(host_memory_stats().hits == before.hits + 1);
  host_empty_cache();
  CHECK(host_memory_stats().cached_bytes == 0);
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
