#pragma once
// Datasets: indexable collections of examples, each a list of tensors (image, label, ...).
#include <memory>
#include <vector>

#include "core/generator.h"
#include "core/tensor.h"

namespace ember::data {

using Example = std::vector<Tensor>;

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual std::int64_t size() const = 0;
  // Example `index`. `generator` is this example's own random stream (seeded from the loader's
  // seed, the epoch and the index), so random augmentation gives the same result whichever
  // worker thread runs it. Must be safe to call from several threads at once.
  virtual Example get(std::int64_t index, Generator& generator) const = 0;
};

// Slices along dim 0 of tensors that share their first size (like torch's TensorDataset).
class TensorDataset : public Dataset {
 public:
  explicit TensorDataset(std::vector<Tensor> tensors);
  std::int64_t size() const override;
  Example get(std::int64_t index, Generator& generator) const override;

 private:
  std::vector<Tensor> tensors_;
};

// Chosen examples of another dataset, in the given order (e.g. a train/validation split).
class Subset : public Dataset {
 public:
  Subset(std::shared_ptr<const Dataset> base, std::vector<std::int64_t> indices);
  std::int64_t size() const override { return static_cast<std::int64_t>(indices_.size()); }
  Example get(std::int64_t index, Generator& generator) const override;

 private:
  std::shared_ptr<const Dataset> base_;
  std::vector<std::int64_t> indices_;
};

}  // namespace ember::data
