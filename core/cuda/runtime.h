#pragma once
// The CUDA runtime pieces that code above core needs when it calls CUDA itself (the NCCL process
// group launches its collectives on a stream of its own): the calling thread's current stream,
// the stream and device guards, and EMBER_CUDA_CHECK. They live in the bottom layer
// (kernels/cuda/), which every CUDA kernel uses; core re-exports them here. Needs the CUDA headers.
#include "kernels/cuda/check.h"
#include "kernels/cuda/stream.h"

namespace ember::cuda {

using kernels::cuda::current_stream;
using kernels::cuda::DeviceGuard;
using kernels::cuda::StreamGuard;

}  // namespace ember::cuda
