#include "data/dataset.h"

#include "core/ops/view.h"

namespace ember::data {

TensorDataset::TensorDataset(std::vector<Tensor> tensors) : tensors_(std::move(tensors)) {
  EMBER_CHECK(!tensors_.empty(), "TensorDataset: expected at least one tensor");
  for (const Tensor& t : tensors_) {
    EMBER_CHECK(t.defined() && t.dim() >= 1 && t.size(0) == tensors_[0].size(0),
                "TensorDataset: every tensor needs the same first size; got ", describe(t), " and ",
                describe(tensors_[0]));
  }
}

std::int64_t TensorDataset::size() const { return tensors_[0].size(0); }

Example TensorDataset::get(std::int64_t index, Generator&) const {
  EMBER_CHECK(index >= 0 && index < size(), "TensorDataset: index ", index, " is out of range for ", size(),
              " examples");
  Example example;
  for (const Tensor& t : tensors_) example.push_back(t.select(0, index));
  return example;
}

Subset::Subset(std::shared_ptr<const Dataset> base, std::vector<std::int64_t> indices)
    : base_(std::move(base)), indices_(std::move(indices)) {
  EMBER_CHECK(base_ != nullptr, "Subset: got no dataset");
  for (std::int64_t i : indices_) {
    EMBER_CHECK(i >= 0 && i < base_->size(), "Subset: index ", i, " is out of range for ", base_->size(), " examples");
  }
}

Example Subset::get(std::int64_t index, Generator& generator) const {
  EMBER_CHECK(index >= 0 && index < size(), "Subset: index ", index, " is out of range for ", size(), " examples");
  return base_->get(indices_[static_cast<std::size_t>(index)], generator);
}

}  // namespace ember::data
