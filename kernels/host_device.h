#pragma once
// EMBER_HOST_DEVICE marks a function both the CPU loops and the CUDA kernels call: nvcc compiles
// it for both sides, the host compiler sees a plain inline function. Each scalar formula of
// ember is written once this way (kernels/formulas.h, kernels/optimizer_formulas.h).
#if defined(__CUDACC__)
#define EMBER_HOST_DEVICE __host__ __device__
#else
#define EMBER_HOST_DEVICE
#endif
