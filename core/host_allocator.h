#pragma once
// Host memory for tensors, 64-byte aligned (a cache line, one AVX-512 load). Blocks of 256 KiB
// and more are cut from huge-page backed segments and, when freed, merged with their free
// neighbours and kept for later requests of any size they fit (up to an eighth of the
// machine's memory). Fresh pages cost a page fault and a kernel-side clear on first touch,
// which would otherwise dominate every elementwise op on a large tensor.
#include <cstddef>

namespace ember {

void* host_allocate(std::size_t nbytes);
void host_release(void* data, std::size_t nbytes);

struct HostMemoryStats {
  std::size_t allocated_bytes;       // held by tensors now (as requested, before rounding)
  std::size_t peak_allocated_bytes;  // the most allocated_bytes has been since the last reset
  std::size_t cached_bytes;          // free in the segments, ready for reuse
  std::size_t hits;                  // large allocations served from free memory of the segments
  std::size_t misses;                // large allocations that needed a new segment from the system
};
HostMemoryStats host_memory_stats();
// Starts the peak over from what is allocated now (to measure one step, say).
void host_reset_peak_memory();
// Returns every wholly free segment to the system.
void host_empty_cache();
// For tests: fill every block handed out with 0xFF bytes (NaN for floats, -1 for integers), as
// cuda::set_poison_allocations does on the GPU, so an element a kernel forgot to write shows up
// instead of passing by luck.
void host_set_poison_allocations(bool poison);

}  // namespace ember
