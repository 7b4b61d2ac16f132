#pragma once
// The autograd graph: a Node per recorded op, Edges pointing at the nodes of its inputs.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace ember {

class Node;

// Where the gradient for one input of a node goes: output `input_nr` of node `fn`.
// An edge with no fn is an input that needs no gradient.
struct Edge {
  std::shared_ptr<Node> fn;
  std::uint32_t input_nr = 0;
};

class Node {
 public:
  Node();
  virtual ~Node() = default;
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Gradients of the inputs (one per next edge, undefined where none) given the gradients of
  // the outputs (one per output, undefined where no gradient reached that output).
  virtual std::vector<Tensor> apply(std::vector<Tensor>&& grad_outputs) = 0;
  virtual std::string name() const = 0;
  virtual std::uint32_t num_outputs() const { return 1; }
  // Frees what apply() needs (saved tensors); called after backward unless retain_graph.
  virtual void release() {}

  const std::vector<Edge>& next_edges() const { return next_edges_; }
  void set_next_edges(std::vector<Edge> edges) { next_edges_ = std::move(edges); }
  // Whether input i's gradient is wanted (its edge leads somewhere).
  bool needs_input_grad(std::size_t i) const { return i < next_edges_.size() && next_edges_[i].fn; }
  // Increases with creation order; the engine runs ready nodes newest first, like PyTorch.
  std::uint64_t sequence_nr() const { return sequence_nr_; }

 protected:
  // Marks a node the engine runs before any other ready node, whatever its age.
  struct RunFirst {};
  explicit Node(RunFirst);

 private:
  std::vector<Edge> next_edges_;
  std::uint64_t sequence_nr_;
};

// A tensor an op keeps for its backward. Remembers the version it was saved at, so a later
// in-place write to it is an Error at backward time, never a silently wrong gradient. An
// undefined tensor (an optional input, such as a norm without weight) is saved as undefined.
class SavedTensor {
 public:
  SavedTensor() = default;
  explicit SavedTensor(const Tensor& tensor);
  // The saved tensor; an Error if it was modified in place since it was saved.
  const Tensor& get() const;

 private:
  Tensor data_;  // detached: keeps the memory, not the graph, so no reference cycles
  std::uint32_t saved_version_ = 0;
  bool absent_ = false;  // saved an undefined tensor: get() returns it, with no checks
};

// The backward of a single-output op, written as a function of the output gradient.
// It returns one gradient per input (undefined where `node.needs_input_grad(i)` is false).
using BackwardFunction = std::function<std::vector<Tensor>(const Tensor& grad_output, const Node& node)>;

class FunctionNode final : public Node {
 public:
  FunctionNode(std::string name, BackwardFunction backward)
      : name_(std::move(name)), backward_(std::move(backward)) {}
  std::vector<Tensor> apply(std::vector<Tensor>&& grad_outputs) override;
  std::string name() const override { return name_; }
  void release() override { backward_ = nullptr; }

 private:
  std::string name_;
  BackwardFunction backward_;
};

// The sink at a leaf that requires grad: adds the incoming gradient into leaf.grad and then
// runs the leaf's post-accumulate hooks (the gradient is final once this node runs).
class AccumulateGrad final : public Node {
 public:
  // Runs as soon as its gradient is complete (PyTorch does the same): a leaf's accumulation is
  // cheap, and its hooks (DDP's bucket all-reduce) should start while backward goes on, not wait
  // behind every newer op. The node is made once per leaf, so by age it would run last.
  explicit AccumulateGrad(Tensor leaf) : Node(RunFirst{}), leaf_(std::move(leaf)) {}
  std::vector<Tensor> apply(std::vector<Tensor>&& grad_outputs) override;
  std::string name() const override { return "AccumulateGrad"; }

 private:
  Tensor leaf_;
};

// True when grad mode is on and any of `inputs` requires grad: the op must record a node.
bool any_requires_grad(std::initializer_list<const Tensor*> inputs);
bool any_requires_grad(const std::vector<Tensor>& inputs);

// The edge an op's node uses for `input`: its grad_fn, its accumulator, or none.
Edge gradient_edge(const Tensor& input);

// Records `output` as produced by op `name` from `inputs`, if any input requires grad.
// `backward` is only called if backward later reaches this node.
void record_op(const char* name, const Tensor& output, const std::vector<Tensor>& inputs,
               BackwardFunction backward);

}  // namespace ember
