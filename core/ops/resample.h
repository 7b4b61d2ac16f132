#pragma once
// Ops that resample the H and W of [N, C, H, W] tensors: adaptive average pooling and
// interpolation (nearest, bilinear). All of them are separable weighted sums
// (kernels/resample.h), so their backward is the same scatter with the same weights.
#include <array>

#include "core/tensor.h"

namespace ember {

// Averages over windows chosen so the output is exactly output_size (PyTorch's windows:
// [floor(o H / OH), ceil((o + 1) H / OH))).
Tensor adaptive_avg_pool2d(const Tensor& input, const std::array<std::int64_t, 2>& output_size);

enum class InterpolateMode { nearest, bilinear };

// Give either size or scale_factor (the other left at zero), as with torch.nn.functional.interpolate.
struct InterpolateOptions {
  std::array<std::int64_t, 2> size{0, 0};
  std::array<double, 2> scale_factor{0.0, 0.0};  // output = floor(input * factor)
  InterpolateMode mode = InterpolateMode::nearest;
  bool align_corners = false;  // bilinear only
};

// PyTorch's source-coordinate rules: with a scale_factor the step between source coordinates
// is 1 / factor (recompute_scale_factor=False), with a size it is in / out.
Tensor interpolate(const Tensor& input, const InterpolateOptions& options);

}  // namespace ember
