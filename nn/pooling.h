#pragma once
// Pooling layers.
#include "core/ops/pool.h"
#include "core/ops/resample.h"
#include "nn/module.h"

namespace ember::nn {

class MaxPool2d : public Module {
 public:
  explicit MaxPool2d(const Pool2dParams& params) : params(params) {}
  Tensor forward(const Tensor& input) override { return max_pool2d(input, params); }
  // PyTorch's return_indices=True: the output and the indices max_unpool2d takes.
  std::pair<Tensor, Tensor> forward_with_indices(const Tensor& input) { return max_pool2d_with_indices(input, params); }
  std::string type_name() const override { return "MaxPool2d"; }
  Pool2dParams params;
};

class AvgPool2d : public Module {
 public:
  explicit AvgPool2d(const Pool2dParams& params) : params(params) {}
  Tensor forward(const Tensor& input) override { return avg_pool2d(input, params); }
  std::string type_name() const override { return "AvgPool2d"; }
  Pool2dParams params;
};

// Average pooling to a fixed output size whatever the input's H and W (e.g. {1, 1}: global pooling).
class AdaptiveAvgPool2d : public Module {
 public:
  explicit AdaptiveAvgPool2d(const std::array<std::int64_t, 2>& output_size) : output_size(output_size) {}
  Tensor forward(const Tensor& input) override { return adaptive_avg_pool2d(input, output_size); }
  std::string type_name() const override { return "AdaptiveAvgPool2d"; }
  std::array<std::int64_t, 2> output_size;
};

}  // namespace ember::nn
