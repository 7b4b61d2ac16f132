#pragma once
// EMBER_CUDA_CHECK(call): every CUDA runtime call goes through it, so a failure becomes an
// ember::Error naming the call, CUDA's message and where it was made, instead of a silently
// ignored status that surfaces later as a wrong answer.
#include <cuda_runtime_api.h>

#include "kernels/error.h"

namespace ember::kernels::cuda {

[[noreturn]] inline void raise_cuda_error(cudaError_t status, const char* call, const char* file, int line) {
  fail("CUDA error: ", cudaGetErrorString(status), " (", cudaGetErrorName(status), ") in ", call, " at ", file, ":",
       line);
}

}  // namespace ember::kernels::cuda

#define EMBER_CUDA_CHECK(call)                                                                   \
  do {                                                                                           \
    const cudaError_t ember_cuda_status = (call);                                                \
    if (ember_cuda_status != cudaSuccess) {                                                      \
      ::ember::kernels::cuda::raise_cuda_error(ember_cuda_status, #call, __FILE__, __LINE__);    \
    }                                                                                            \
  } while (false)

// After a kernel launch: launch errors (bad configuration, no kernel image for this GPU) are
// reported by cudaGetLastError, not by the launch itself.
#define EMBER_CUDA_CHECK_LAUNCH() EMBER_CUDA_CHECK(cudaGetLastError())
