#pragma once
// Between the pinned-memory cache and the copies (core/cuda/): an asynchronous copy out of a
// pinned block marks the block, so the cache does not hand it out again before the copy is done.
#include <cuda_runtime_api.h>

namespace ember::cuda::detail {

// `block` is the start of a block from allocate_pinned; `stream` runs the copy that reads it.
void record_pinned_use(const void* block, cudaStream_t stream);

}  // namespace ember::cuda::detail
