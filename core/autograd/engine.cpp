#include "core/autograd/engine.h"

#include <queue>
#include <utility>
#include <unordered_map>

#include "core/autocast.h"
#include "core/autograd/grad_mode.h"
#include "core/autograd/node.h"
#include "core/ops/elementwise.h"
#include "core/ops/factory.h"

namespace ember {

namespace {

struct NewestFirst {
  bool operator()(const std::shared_ptr<Node>& a, const std::shared_ptr<Node>& b) const {
    return a->sequence_nr() < b->sequence_nr();
  }
};

// How many edges point at each node reachable from `starts`: a node may run once all of them
// have delivered their gradient.
std::unordered_map<Node*, int> count_dependencies(const std::vector<std::shared_ptr<Node>>& starts) {
  std::unordered_map<Node*, int> dependencies;
  std::vector<Node*> stack;
  std::unordered_map<Node*, bool> seen;
  for (const auto& start : starts) {
    if (!seen[start.get()]) {
      seen[start.get()] = true;
      stack.push_back(start.get());
    }
  }
  while (!stack.empty()) {
    Node* node = stack.back();
    stack.pop_back();
    for (const Edge& edge : node->next_edges()) {
      if (!edge.fn) continue;
      ++dependencies[edge.fn.get()];
      if (!seen[edge.fn.get()]) {
        seen[edge.fn.get()] = true;
        stack.push_back(edge.fn.get());
      }
    }
  }
  return dependencies;
}

// The callbacks queued by the backward pass running on this thread, or null outside one.
thread_local std::vector<std::function<void()>>* queued_callbacks = nullptr;

// Installs a callback list for one backward pass and restores the enclosing one afterwards
// (backward may run inside a hook of another backward).
class CallbackScope {
 public:
  CallbackScope() : outer_(std::exchange(queued_callbacks, &callbacks_)) {}
  ~CallbackScope() { queued_callbacks = outer_; }
  CallbackScope(const CallbackScope&) = delete;
  CallbackScope& operator=(const CallbackScope&) = delete;
  // Runs the callbacks in the order queued; a callback may queue more.
  void run() {
    for (std::size_t i = 0; i < callbacks_.size(); ++i) callbacks_[i]();
  }

 private:
  std::vector<std::function<void()>> callbacks_;
  std::vector<std::function<void()>>* outer_;
};

void accumulate_into(std::vector<Tensor>& buffer, std::uint32_t slot, const Tensor& grad) {
  if (!grad.defined()) return;
  buffer[slot] = buffer[slot].defined() ? add(buffer[slot], grad) : grad;
}

}  // namespace

void queue_backward_callback(std::function<void()> callback) {
  EMBER_CHECK(queued_callbacks != nullptr, "queue_backward_callback: no backward pass is running on this thread");
  queued_callbacks->push_back(std::move(callback));
}

void run_backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& grads, bool retain_graph) {
  EMBER_CHECK(roots.size() == grads.size(), "backward: got ", roots.size(), " roots but ", grads.size(),
              " gradients");
  CallbackScope callbacks;
  NoGradGuard no_grad;  // gradients are computed, not recorded
  // Each gradient op runs in the dtype its forward op ran in, whatever scope backward is called from.
  AutocastGuard no_autocast(autocast_dtype(), /*enabled=*/false);

  std::unordered_map<Node*, std::vector<Tensor>> buffers;
  std::vector<std::shared_ptr<Node>> root_nodes;
  for (std::size_t i = 0; i < roots.size(); ++i) {
    const Tensor& root = roots[i];
    EMBER_CHECK(root.requires_grad(), "backward: tensor ", describe(root),
                " does not require grad and has no grad_fn");
    Tensor grad = grads[i];
    if (!grad.defined()) {
      EMBER_CHECK(root.numel() == 1, "backward: grad can be implicitly created only for one-element "
                  "tensors, got a tensor of shape ", to_string(root.sizes()));
      grad = ones_like(root);
    }
    EMBER_CHECK(grad.sizes() == root.sizes() && grad.dtype() == root.dtype(), "backward: gradient ",
                describe(grad), " does not match its root ", describe(root));
    const Edge edge = gradient_edge(root);
    auto& buffer = buffers[edge.fn.get()];
    buffer.resize(edge.fn->num_outputs());
    accumulate_into(buffer, edge.input_nr, grad);
    root_nodes.push_back(edge.fn);
  }

  auto dependencies = count_dependencies(root_nodes);
  std::priority_queue<std::shared_ptr<Node>, std::vector<std::shared_ptr<Node>>, NewestFirst> ready;
  std::unordered_map<Node*, bool> queued;
  for (const auto& node : root_nodes) {
    if (dependencies[node.get()] == 0 && !queued[node.get()]) {
      queued[node.get()] = true;
      ready.push(node);
    }
  }

  while (!ready.empty()) {
    std::shared_ptr<Node> node = ready.top();
    ready.pop();
    std::vector<Tensor> grad_outputs = std::move(buffers[node.get()]);
    buffers.erase(node.get());
    std::vector<Tensor> grad_inputs;
    try {
      grad_inputs = node->apply(std::move(grad_outputs));
    } catch (const Error& error) {
      fail("backward of ", node->name(), ": ", error.what());
    }
    if (!retain_graph) node->release();

    const auto& edges = node->next_edges();
    for (std::size_t i = 0; i < edges.size(); ++i) {
      const Edge& edge = edges[i];
      if (!edge.fn) continue;
      auto& buffer = buffers[edge.fn.get()];
      buffer.resize(edge.fn->num_outputs());
      if (i < grad_inputs.size()) accumulate_into(buffer, edge.input_nr, grad_inputs[i]);
      if (--dependencies[edge.fn.get()] == 0) ready.push(edge.fn);
    }
  }
  callbacks.run();
}

}  // namespace ember
