#pragma once
// Convolution: the forward product and both backward products of a grouped 2-d convolution
// over contiguous NCHW buffers (the op layer builds conv2d and conv_transpose2d from them on
// either device).
//
// Each kernel's signature is written once, as a function type; `Type name;` below declares
// the function `name` of that type for each device: kernels/cpu/conv.cpp and
// kernels/cuda/conv.cpp (cuDNN) define them.
#include <cstdint>

#include "kernels/conv_geometry.h"
#include "kernels/scalar_type.h"

namespace ember::kernels {

// output = conv(image, weight); weight [out_channels, channels / groups, KH, KW]. With
// `accumulate` the result is added onto what `output` holds (the op layer starts it at the bias,
// as linear does, so that the bias costs no pass of its own) instead of overwriting it.
using Conv2dForwardKernel = void(DType dtype, const ConvGeometry& g, std::int64_t out_channels, std::int64_t groups,
                                 const void* image, const void* weight, void* output, bool accumulate);
// grad_image = the adjoint of the convolution applied to grad_output. With stride 1 this is
// itself a convolution (of grad_output with the kernel flipped and its channel axes swapped);
// otherwise the columns W^T @ grad_output are scattered back onto the image (col2im).
// `accumulate` as above (this is conv_transpose2d's forward, whose bias the image starts at).
using Conv2dBackwardDataKernel = void(DType dtype, const ConvGeometry& g, std::int64_t out_channels,
                                      std::int64_t groups, const void* weight, const void* grad_output,
                                      void* grad_image, bool accumulate);
// grad_weight = d <conv(image, weight), grad_output> / d weight, summed over the batch.
using Conv2dBackwardFilterKernel = void(DType dtype, const ConvGeometry& g, std::int64_t out_channels,
                                        std::int64_t groups, const void* image, const void* grad_output,
                                        void* grad_weight);

namespace cpu {
Conv2dForwardKernel conv2d_forward;
Conv2dBackwardDataKernel conv2d_backward_data;
Conv2dBackwardFilterKernel conv2d_backward_filter;
}  // namespace cpu

namespace cuda {
Conv2dForwardKernel conv2d_forward;
Conv2dBackwardDataKernel conv2d_backward_data;
Conv2dBackwardFilterKernel conv2d_backward_filter;
}  // namespace cuda

}  // namespace ember::kernels
