#pragma once
// nn::Module: parameters, buffers and submodules in registration order, train/eval mode, and
// state_dict save/load — the base class of every layer.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace ember::nn {

// Named tensors in a fixed order ("0.weight", "0.bias", ...), like PyTorch's OrderedDict.
using StateDict = std::vector<std::pair<std::string, Tensor>>;

class Module {
 public:
  virtual ~Module() = default;
  Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  virtual Tensor forward(const Tensor& input) = 0;
  Tensor operator()(const Tensor& input) { return forward(input); }
  // The layer's type name for messages ("Linear").
  virtual std::string type_name() const = 0;

  // Depth-first in registration order: own entries first, then each child's with "child." prefixed.
  StateDict named_parameters(bool recurse = true) const;
  std::vector<Tensor> parameters(bool recurse = true) const;
  StateDict named_buffers(bool recurse = true) const;
  std::vector<Tensor> buffers(bool recurse = true) const;
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& children() const { return children_; }

  // Training mode (the default) vs evaluation mode; applies to every submodule.
  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }

  // Parameters then buffers of each module, recursively (PyTorch's order).
  StateDict state_dict() const;
  // Copies values in. strict: every key must be present and no extra key allowed. A shape
  // mismatch is always an Error naming the key and both shapes.
  void load_state_dict(const StateDict& state, bool strict = true);
  // Sets every parameter's .grad to none.
  void zero_grad();
  // Moves every parameter and buffer to `device` in place (the same Tensor objects, new memory);
  // gradients are reset to none. Call it before an optimizer is made over the parameters.
  void to(Device device);

 protected:
  Tensor register_parameter(const std::string& name, Tensor value, bool requires_grad = true);
  Tensor register_buffer(const std::string& name, Tensor value);
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
    check_new_name(name);
    children_.emplace_back(name, module);
    return module;
  }

 private:
  void check_new_name(const std::string& name) const;
  void collect(StateDict& out, const std::string& prefix, bool parameters, bool buffers, bool recurse) const;

  StateDict parameters_;
  StateDict buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

}  // namespace ember::nn
