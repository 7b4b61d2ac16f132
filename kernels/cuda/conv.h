#pragma once
// Convolution on the GPU through cuDNN: the forward product and both backward products of a
// grouped 2-d convolution over contiguous NCHW tensors. The op layer builds conv2d from them
// and, as its adjoint, conv_transpose2d (whose forward is backward_data).
//
// The convolution: image [N, C, H, W] (g.batch, g.channels, g.height, g.width), weight
// [out_channels, C / groups, KH, KW], output [N, out_channels, g.out_h, g.out_w]. cuDNN's
// algorithm for each (direction, dtype, shape) is chosen once by its heuristic and cached; its
// workspace comes from CUDA's stream-ordered allocator. f16/bf16 run on the tensor cores with
// f32 accumulation; f32 stays in full f32 unless TF32 is allowed (kernels/cuda/gemm.h).
#include <cstdint>

#include "core/scalar_type.h"
#include "kernels/conv_geometry.h"

namespace ember::kernels::cuda {

// output = conv(image, weight)
void conv2d_forward(DType dtype, const ConvGeometry& g, std::int64_t out_channels, std::int64_t groups,
                    const void* image, const void* weight, void* output);
// grad_image = the adjoint of the convolution applied to grad_output
void conv2d_backward_data(DType dtype, const ConvGeometry& g, std::int64_t out_channels, std::int64_t groups,
                          const void* weight, const void* grad_output, void* grad_image);
// grad_weight = d <conv(image, weight), grad_output> / d weight
void conv2d_backward_filter(DType dtype, const ConvGeometry& g, std::int64_t out_channels, std::int64_t groups,
                            const void* image, const void* grad_output, void* grad_weight);

}  // namespace ember::kernels::cuda
