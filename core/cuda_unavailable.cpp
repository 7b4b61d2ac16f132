// core/cuda.h for a build without the CUDA backend (EMBER_CUDA=OFF): no devices; anything that
// would need one raises the Error of cuda_unavailable().
#include "core/cuda.h"

namespace ember::cuda {

bool is_built() { return false; }
int device_count() { return 0; }
void check_device(const char* op, Device device) {
  if (device.is_cuda()) cuda_unavailable(op);
}
void synchronize() {}
void* allocate(std::size_t, int) { cuda_unavailable("cuda::allocate"); }
void release(void*) { cuda_unavailable("cuda::release"); }
MemoryStats memory_stats(int) { return {0, 0, 0}; }
void reset_peak_memory_stats(int) {}
void empty_cache() {}
void set_poison_allocations(bool) {}
void* allocate_pinned(std::size_t) { cuda_unavailable("cuda::allocate_pinned"); }
void release_pinned(void*) { cuda_unavailable("cuda::release_pinned"); }
bool is_pinned(const void*) { return false; }
void copy_bytes(void*, Device, const void*, Device, std::size_t, bool) { cuda_unavailable("copy"); }

}  // namespace ember::cuda
