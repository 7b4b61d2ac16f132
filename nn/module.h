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

// How Module::load_safetensors maps a file's keys onto the module's state_dict names: the key
// K of the file is read as add_prefix + (K without strip_prefix).
struct LoadOptions {
  // Read only the keys that start with this, without it: "model.net." takes the network out of
  // an ember Trainer checkpoint (whose other keys, the optimizer's state, are left alone),
  // "model." a Hugging Face file's base model.
  std::string strip_prefix = {};
  // For a file whose keys lack a prefix the module's names have (weights of a bare network
  // loaded into a module that holds it as its submodule `net`: "net.").
  std::string add_prefix = {};
  // As load_state_dict's.
  bool strict = true;
};

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
  // Copies values in, converted to each parameter's dtype and device. strict: every key must be
  // present and no extra key allowed. A shape mismatch is always an Error. The Error names every
  // missing, unexpected and mis-shaped key (with both shapes) at once, and nothing is copied.
  void load_state_dict(const StateDict& state, bool strict = true);
  // The same from a safetensors file: PyTorch's (safetensors.torch.save_file of a state_dict),
  // a Hugging Face file or an ember checkpoint. f16, bf16, f64 (any dtype) become the dtype of
  // the parameter or buffer they load into. Defined in nn/weights_file.cpp.
  void load_safetensors(const std::string& path, const LoadOptions& options = {});
  // Writes state_dict() as safetensors (atomically), with the names PyTorch's load_state_dict
  // expects of the same architecture ("0.weight" for nn.Sequential, "<attribute>.<name>" for a
  // submodule) and the metadata {"format": "pt"} Hugging Face's loaders look for.
  void save_safetensors(const std::string& path) const;
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
