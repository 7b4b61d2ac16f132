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
  const HostCacheStats before = host_cache_stats();
  void* first = nullptr;
  {
    const Tensor t = empty({1 << 20});
    first = t.data_ptr();
  }
  CHECK(host_cache_stats().cached_bytes == before.cached_bytes + (4u << 20));
  const Tensor again = empty({1 << 20});
  CHECK(again.data_ptr() == first);
  CHECK(host_cache_stats().hits == before.hits + 1);
  host_empty_cache();
  CHECK(host_cache_stats().cached_bytes == 0);
}
