#pragma once
// The direct paths of the CPU convolution (kernels/cpu/conv.cpp dispatches to them where they
// serve): the forward and the weight gradient summed in register tiles straight from each
// chunk's window of input rows (kernels/cpu/conv_window.h), with no column matrix, and both
// directions of a 2 x 2, stride-2 convolution straight from the rows of its operands. The tiles
// are conv_forward_rows.h and conv_forward_direct.h (forward), conv_filter_direct.h and
// conv_2x2_stride2.h; conv_direct.cpp holds the chunks and rows around them.
#include "kernels/cpu/conv_chunks.h"
#include "kernels/dtype.h"

namespace ember::kernels::cpu {

// Whether the f32 forward is computed directly: on AVX-512 with strides of 1, for at least 16
// output channels per group (two blocks of the row tiles; U-Net 16->16 measured 15% faster than
// the panels), not a pointwise convolution (a plain GEMM on the image).
bool forward_is_direct(const ConvShape& s);
// output = the convolution of image by weight (f32, or added onto output with s.accumulate).
void forward_directly(const ConvShape& s, const float* image, const float* weight, float* output);

// Whether the weight gradient in `dtype` is computed directly: on AVX-512 in f32, or with its dot
// products in bf16 for a horizontal stride of 1, for a window of 2 or 3 taps across without
// horizontal dilation, not a pointwise convolution (whose column matrix is the image itself).
bool filter_gradient_is_direct(const ConvShape& s, DType dtype);
// grad_weight = the weight gradient over the batch: one f32 dW^T per range of chunks, added up in
// range order, transposed into grad_weight and rounded once.
void backward_filter_directly(const ConvShape& s, const float* image, const float* grad_output, float* grad_weight);
void backward_filter_directly(const ConvShape& s, const bfloat16* image, const bfloat16* grad_output,
                              bfloat16* grad_weight);

// Whether the f32 forward is a 2 x 2 convolution with stride 2, no padding and no dilation on
// AVX-512, computed directly (conv_2x2_stride2.h; the up-convolution's input gradient).
bool forward_is_downsampling(const ConvShape& s);
void forward_by_downsampling(const ConvShape& s, const float* image, const float* weight, float* output);

// Whether the f32 input gradient is the up-convolution's direct form: on AVX-512, for a 2 x 2
// kernel with stride 2, no padding and no dilation, whose taps tile the image exactly (the
// forward of a 2 x 2, stride-2 ConvTranspose2d).
bool backward_data_is_upsampling(const ConvShape& s);
// grad_image (+)= the input gradient, each output row pair from one row of grad_output in
// register tiles (conv_2x2_stride2.h).
void backward_data_by_upsampling(const ConvShape& s, const float* weight, const float* grad_output,
                                 float* grad_image);

}  // namespace ember::kernels::cpu
