#pragma once
// TensorImpl: what a Tensor handle points at. Views share `storage` and `version`.
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "core/dtype.h"
#include "core/shape.h"
#include "core/storage.h"
#include "core/tensor.h"

namespace ember {

class Node;

// Autograd state, allocated only for tensors that take part in autograd.
struct AutogradMeta {
  bool requires_grad = false;
  Tensor grad;                         // accumulated gradient of a leaf
  std::shared_ptr<Node> grad_fn;       // the node that produced this tensor (non-leaves)
  std::uint32_t output_nr = 0;         // which output of grad_fn this tensor is
  std::weak_ptr<Node> grad_accumulator;  // a leaf's AccumulateGrad node, made on first use
  // Hooks run once the leaf's gradient is final, each with the handle that removes it.
  std::vector<std::pair<std::uint64_t, std::function<void(const Tensor&)>>> post_accumulate_hooks;
};

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  std::int64_t offset = 0;  // in elements
  Shape sizes;
  Shape strides;            // in elements
  DType dtype = DType::f32;
  // Bumped by every in-place write; shared by a tensor and all of its views, so a saved
  // tensor can tell that its memory changed after it was saved.
  std::shared_ptr<std::atomic<std::uint32_t>> version = std::make_shared<std::atomic<std::uint32_t>>(0);
  bool is_view = false;     // aliases memory that another tensor handed out
  std::unique_ptr<AutogradMeta> autograd;

  AutogradMeta& autograd_meta() {
    if (!autograd) autograd = std::make_unique<AutogradMeta>();
    return *autograd;
  }
};

}  // namespace ember
