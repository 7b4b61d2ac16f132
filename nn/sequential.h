#pragma once
// nn::Sequential: runs its modules one after another; they are named "0", "1", ...
#include <initializer_list>

#include "nn/module.h"

namespace ember::nn {

class Sequential : public Module {
 public:
  Sequential() = default;
  Sequential(std::initializer_list<std::shared_ptr<Module>> modules);
  void push_back(std::shared_ptr<Module> module);
  std::size_t size() const { return children().size(); }
  Tensor forward(const Tensor& input) override;
  std::string type_name() const override { return "Sequential"; }
};

}  // namespace ember::nn
