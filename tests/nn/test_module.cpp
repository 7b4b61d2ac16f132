// nn::Module: registration order, state_dict round trips and their errors, train/eval.
#include "helpers.h"
#include "nn/nn.h"

using namespace ember;
using namespace ember::testing;

namespace {

// A module with a parameter, a buffer and a child, registered in that order.
class Block : public nn::Module {
 public:
  Block() {
    scale = register_parameter("scale", ones({2}));
    count = register_buffer("count", zeros({1}, {.dtype = DType::i64}));
    inner = register_module("inner", std::make_shared<nn::Linear>(2, 3));
  }
  Tensor forward(const Tensor& x) override { return inner->forward(x * scale); }
  std::string type_name() const override { return "Block"; }
  Tensor scale, count;
  std::shared_ptr<nn::Linear> inner;
};

std::vector<std::string> names(const nn::StateDict& state) {
  std::vector<std::string> out;
  for (const auto& entry : state) out.push_back(entry.first);
  return out;
}

}  // namespace

TEST_CASE("parameters and buffers and children come in registration order with dotted names") {
  nn::Sequential model{std::make_shared<Block>(), std::make_shared<nn::ReLU>(), std::make_shared<nn::Linear>(3, 1)};
  CHECK(names(model.named_parameters()) ==
        std::vector<std::string>{"0.scale", "0.inner.weight", "0.inner.bias", "2.weight", "2.bias"});
  CHECK(names(model.named_buffers()) == std::vector<std::string>{"0.count"});
  CHECK(names(model.state_dict()) ==
        std::vector<std::string>{"0.scale", "0.count", "0.inner.weight", "0.inner.bias", "2.weight", "2.bias"});
  CHECK(model.parameters().size() == 5);
  CHECK(model.named_parameters(/*recurse=*/false).empty());
  CHECK(model(zeros({4, 2})).sizes() == Shape{4, 1});
}

TEST_CASE("train and eval reach every submodule") {
  nn::Sequential model{std::make_shared<Block>()};
  model.eval();
  CHECK_FALSE(model.is_training());
  CHECK_FALSE(model.children()[0].second->is_training());
  model.train();
  CHECK(model.children()[0].second->is_training());
}

TEST_CASE("state_dict round trip copies values into an independent model") {
  Block a, b;
  a.scale.detach().fill_(3);
  b.load_state_dict(a.state_dict());
  check_values(b.scale, {3, 3});
  check_values(b.inner->weight, a.inner->weight.to_vector<double>());
  CHECK(b.scale.storage() != a.scale.storage());  // copied, not shared
}

TEST_CASE("load_state_dict errors name the keys and shapes") {
  Block block;
  nn::StateDict state = block.state_dict();
  state.erase(state.begin());  // drop "scale"
  state.emplace_back("extra", zeros({1}));
  const std::string message = error_of([&] { block.load_state_dict(state); });
  CHECK(contains(message, "missing keys: 'scale'"));
  CHECK(contains(message, "unexpected keys: 'extra'"));
  block.load_state_dict(state, /*strict=*/false);  // allowed: loads what matches

  // Every problem in one message, and nothing copied: a mis-shaped key is an error even when
  // not strict (as in PyTorch).
  nn::StateDict wrong = block.state_dict();
  wrong[0].second = full({2}, 7.0);
  wrong[2].second = zeros({4, 4});
  wrong.emplace_back("extra", zeros({1}));
  CHECK(error_of([&] { block.load_state_dict(wrong); }) ==
        "load_state_dict: error(s) loading state_dict for Block: unexpected keys: 'extra'. size mismatch for: "
        "'inner.weight (the state has shape [4, 4], the Block has shape [3, 2])'.");
  CHECK(contains(error_of([&] { block.load_state_dict(wrong, /*strict=*/false); }), "size mismatch for: 'inner.weight"));
  check_values(block.scale, {1, 1});
}

TEST_CASE("registration errors") {
  class Bad : public nn::Module {
   public:
    Bad() {
      register_parameter("w", zeros({1}));
      register_parameter("w", zeros({1}));
    }
    Tensor forward(const Tensor& x) override { return x; }
    std::string type_name() const override { return "Bad"; }
  };
  CHECK(contains(error_of([] { Bad bad; }), "Bad: name 'w' is already registered"));
}
