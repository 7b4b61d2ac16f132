#include "core/autograd/node.h"

#include <atomic>
#include <limits>

#include "core/autograd/grad_mode.h"
#include "core/tensor_impl.h"

namespace ember {

namespace {
std::atomic<std::uint64_t> next_sequence_nr{0};
}

Node::Node() : sequence_nr_(next_sequence_nr++) {}

Node::Node(RunFirst) : sequence_nr_(std::numeric_limits<std::uint64_t>::max()) {}

SavedTensor::SavedTensor(const Tensor& tensor)
    : data_(tensor.defined() ? tensor.detach() : Tensor()),
      saved_version_(tensor.defined() ? tensor.version() : 0),
      absent_(!tensor.defined()) {}

const Tensor& SavedTensor::get() const {
  if (absent_) return data_;
  EMBER_CHECK(data_.defined(), "a saved tensor was already freed: trying to backward through the graph a "
              "second time (pass retain_graph=true to the first backward)");
  EMBER_CHECK(data_.version() == saved_version_,
              "one of the tensors needed for gradient computation (", describe(data_),
              ") has been modified by an in-place operation: it is at version ", data_.version(),
              ", it was saved at version ", saved_version_);
  return data_;
}

std::vector<Tensor> FunctionNode::apply(std::vector<Tensor>&& grad_outputs) {
  EMBER_CHECK(backward_ != nullptr, "trying to backward through the graph a second time: its saved tensors "
              "were freed by the first backward (pass retain_graph=true to keep them)");
  if (!grad_outputs[0].defined()) return std::vector<Tensor>(next_edges().size());
  return backward_(grad_outputs[0], *this);
}

std::vector<Tensor> AccumulateGrad::apply(std::vector<Tensor>&& grad_outputs) {
  const Tensor& incoming = grad_outputs[0];
  if (!incoming.defined()) return {};
  EMBER_CHECK(incoming.sizes() == leaf_.sizes() && incoming.dtype() == leaf_.dtype(),
              "AccumulateGrad: gradient ", describe(incoming), " does not match its leaf ", describe(leaf_));
  AutogradMeta& meta = leaf_.impl()->autograd_meta();
  if (!meta.grad.defined()) {
    // Take the incoming buffer when nobody else can see it; otherwise keep a private copy,
    // since later accumulations write into .grad in place.
    const bool exclusive = incoming.is_contiguous() && !incoming.impl()->is_view &&
                           incoming.storage().use_count() == 1;
    meta.grad = exclusive ? incoming.detach() : incoming.clone();
  } else {
    meta.grad.add_(incoming);
  }
  for (const auto& [handle, hook] : meta.post_accumulate_hooks) hook(leaf_);
  return {};
}

bool any_requires_grad(std::initializer_list<const Tensor*> inputs) {
  if (!GradMode::is_enabled()) return false;
  for (const Tensor* input : inputs) {
    if (input->defined() && input->requires_grad()) return true;
  }
  return false;
}

bool any_requires_grad(const std::vector<Tensor>& inputs) {
  if (!GradMode::is_enabled()) return false;
  for (const Tensor& input : inputs) {
    if (input.defined() && input.requires_grad()) return true;
  }
  return false;
}

Edge gradient_edge(const Tensor& input) {
  if (!input.defined() || !input.requires_grad()) return {};
  AutogradMeta& meta = input.impl()->autograd_meta();
  if (meta.grad_fn) return {meta.grad_fn, meta.output_nr};
  std::shared_ptr<Node> accumulator = meta.grad_accumulator.lock();
  if (!accumulator) {
    accumulator = std::make_shared<AccumulateGrad>(input);
    meta.grad_accumulator = accumulator;
  }
  return {accumulator, 0};
}

void record_op(const char* name, const Tensor& output, const std::vector<Tensor>& inputs,
               BackwardFunction backward) {
  if (!any_requires_grad(inputs)) return;
  auto node = std::make_shared<FunctionNode>(name, std::move(backward));
  std::vector<Edge> edges;
  edges.reserve(inputs.size());
  for (const Tensor& input : inputs) edges.push_back(gradient_edge(input));
  node->set_next_edges(std::move(edges));
  AutogradMeta& meta = output.impl()->autograd_meta();
  meta.requires_grad = true;
  meta.grad_fn = std::move(node);
  meta.output_nr = 0;
}

}  // namespace ember
