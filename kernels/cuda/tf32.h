#pragma once
// Whether f32 matrix products and convolutions on the GPU may run on the tensor cores in TF32:
// about 8x the throughput of full f32, with a 10-bit mantissa per product (PyTorch's
// torch.backends.cuda.matmul.allow_tf32). Off by default.
namespace ember::kernels::cuda {

void set_allow_tf32(bool allow);
bool allow_tf32();

}  // namespace ember::kernels::cuda
