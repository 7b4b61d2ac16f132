#pragma once
// Convolution on the CPU: the forward product and both backward products of a grouped 2-d
// convolution over contiguous NCHW buffers, with the entry points of kernels/cuda/conv.h (the
// op layer builds conv2d and conv_transpose2d from them on either device).
//
// Each product is a GEMM against a column matrix (im2col: one row per (channel, kh, kw), one
// column per output position). The columns are made for one chunk of an image's output positions
// at a time, in a buffer of a few MB per thread, so neither the columns of a whole batch (KH * KW
// times the image) nor anything for backward is ever held: backward rebuilds its chunks from the
// image. Chunks run in parallel, one range per thread, with Eigen's GEMM serial inside.
// f16/bf16 compute in f32 and are rounded once.
#include <cstdint>

#include "core/dtype.h"
#include "kernels/conv_geometry.h"

namespace ember::kernels::cpu {

// output = conv(image, weight); weight [out_channels, channels / groups, KH, KW].
void conv2d_forward(DType dtype, const ConvGeometry& g, std::int64_t out_channels, std::int64_t groups,
                    const void* image, const void* weight, void* output);
// grad_image = the adjoint of the convolution applied to grad_output. With stride 1 this is
// itself a convolution (of grad_output with the kernel flipped and its channel axes swapped);
// otherwise the columns W^T @ grad_output are scattered back onto the image (col2im).
void conv2d_backward_data(DType dtype, const ConvGeometry& g, std::int64_t out_channels, std::int64_t groups,
                          const void* weight, const void* grad_output, void* grad_image);
// grad_weight = d <conv(image, weight), grad_output> / d weight, summed over the batch.
void conv2d_backward_filter(DType dtype, const ConvGeometry& g, std::int64_t out_channels, std::int64_t groups,
                            const void* image, const void* grad_output, void* grad_weight);

}  // namespace ember::kernels::cpu
