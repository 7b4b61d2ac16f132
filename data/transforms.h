#pragma once
// Image transforms for [C, H, W] tensors, and a dataset that applies one to its images.
// Random transforms draw from the example's own generator (see Dataset::get).
#include <functional>
#include <memory>
#include <vector>

#include "data/dataset.h"

namespace ember::data {

using Transform = std::function<Tensor(const Tensor& image, Generator& generator)>;

// (image - mean[c]) / std[c] for each channel c.
Transform normalize(std::vector<double> mean, std::vector<double> std);
// Zero-pads each side by `padding`, then cuts a height x width window at a random place.
Transform random_crop(std::int64_t height, std::int64_t width, std::int64_t padding = 0);
// Mirrors the image left-right with probability p.
Transform random_horizontal_flip(double p = 0.5);
// Applies the transforms in order.
Transform compose(std::vector<Transform> transforms);

// Applies `transform` to position 0 (the image) of every example of `base`.
class TransformDataset : public Dataset {
 public:
  TransformDataset(std::shared_ptr<const Dataset> base, Transform transform);
  std::int64_t size() const override { return base_->size(); }
  Example get(std::int64_t index, Generator& generator) const override;

 private:
  std::shared_ptr<const Dataset> base_;
  Transform transform_;
};

}  // namespace ember::data
