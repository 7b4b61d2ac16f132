// Weights in from PyTorch and back out: Module::load_safetensors on files PyTorch 1.13 wrote
// (tests/fixtures/make_torch_fixtures.py), reproducing PyTorch's outputs, and
// Module::save_safetensors writing the names PyTorch's load_state_dict expects.
#include <filesystem>

#include "helpers.h"
#include "io/safetensors.h"
#include "nn/nn.h"

using namespace ember;
using namespace ember::testing;

namespace {

const std::string kFixtures = std::string(EMBER_SOURCE_DIR) + "/tests/fixtures/";

// The fixture script's Net: features (a Sequential), norm and head as named attributes.
class Net : public nn::Module {
 public:
  Net() {
    const std::array<std::int64_t, 2> kernel{3, 3};
    const Conv2dParams same{.padding = {1, 1}};
    features = register_module(
        "features", std::make_shared<nn::Sequential>(std::initializer_list<std::shared_ptr<nn::Module>>{
                        std::make_shared<nn::Conv2d>(1, 4, kernel), std::make_shared<nn::BatchNorm2d>(4),
                        std::make_shared<nn::ReLU>(), std::make_shared<nn::MaxPool2d>(Pool2dParams{.kernel = {2, 2}}),
                        std::make_shared<nn::Conv2d>(4, 8, kernel, same), std::make_shared<nn::ReLU>()}));
    norm = register_module("norm", std::make_shared<nn::LayerNorm>(Shape{72}));
    head = register_module("head", std::make_shared<nn::Linear>(72, 10));
  }
  Tensor forward(const Tensor& x) override { return (*head)((*norm)((*features)(x).flatten(1))); }
  std::string type_name() const override { return "Net"; }
  std::shared_ptr<nn::Sequential> features;
  std::shared_ptr<nn::LayerNorm> norm;
  std::shared_ptr<nn::Linear> head;
};

// One module holding another as its attribute "net", as an ember TrainModule does.
class Wrapper : public nn::Module {
 public:
  Wrapper() { net = register_module("net", std::make_shared<Net>()); }
  Tensor forward(const Tensor& x) override { return (*net)(x); }
  std::string type_name() const override { return "Wrapper"; }
  std::shared_ptr<Net> net;
};

Tensor fixture_tensor(const std::string& name) {
  for (const auto& [key, tensor] : io::load_safetensors(kFixtures + "torch_net_io.safetensors").tensors) {
    if (key == name) return tensor;
  }
  fail("no tensor '", name, "' in the fixture");
}

Tensor eval_output(nn::Module& net) {
  net.eval();
  NoGradGuard no_grad;
  return net(fixture_tensor("input"));
}

std::filesystem::path scratch() {
  const auto dir = std::filesystem::temp_directory_path() / ("ember_torch_weights_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace

TEST_CASE("weights PyTorch saved reproduce PyTorch's outputs") {
  // PyTorch computes in f32 with other summation orders: 1e-5 of the outputs' scale (about 1).
  Net net;
  net.load_safetensors(kFixtures + "torch_net.safetensors");
  CHECK(max_relative_error(eval_output(net), fixture_tensor("output")) < 1e-5);
  // num_batches_tracked, PyTorch's int64 buffer, came in too.
  CHECK(net.state_dict()[6].first == "features.1.num_batches_tracked");
  CHECK(net.state_dict()[6].second.item<std::int64_t>() == 3);
}

TEST_CASE("bf16, f16 and f64 weights load into f32 parameters") {
  Net net;
  net.load_safetensors(kFixtures + "torch_net_mixed.safetensors");
  for (const auto& [name, tensor] : net.named_parameters()) CHECK_MESSAGE(tensor.dtype() == DType::f32, name);
  // PyTorch's output for the same rounded weights, converted to f32 the same way.
  CHECK(max_relative_error(eval_output(net), fixture_tensor("output_mixed")) < 1e-5);
}

TEST_CASE("load_safetensors adds or strips a key prefix") {
  Wrapper wrapper;  // names "net.features.0.weight", ...; the file has "features.0.weight", ...
  wrapper.load_safetensors(kFixtures + "torch_net.safetensors", {.add_prefix = "net."});
  CHECK(max_relative_error(eval_output(wrapper), fixture_tensor("output")) < 1e-5);

  const std::string path = (scratch() / "wrapper.safetensors").string();
  wrapper.save_safetensors(path);
  Net bare;
  bare.load_safetensors(path, {.strip_prefix = "net."});
  CHECK(max_relative_error(eval_output(bare), fixture_tensor("output")) < 1e-5);
}

TEST_CASE("save_safetensors writes PyTorch's names, order and dtypes") {
  // The same keys, shapes and dtypes PyTorch's state_dict of the same architecture has, so
  // PyTorch's load_state_dict(strict=True) accepts the file.
  Net net;
  net.load_safetensors(kFixtures + "torch_net.safetensors");
  const std::string path = (scratch() / "net.safetensors").string();
  net.save_safetensors(path);
  const io::SafetensorsFile ours = io::load_safetensors(path);
  const io::SafetensorsFile theirs = io::load_safetensors(kFixtures + "torch_net.safetensors");
  REQUIRE(ours.tensors.size() == theirs.tensors.size());
  for (std::size_t i = 0; i < ours.tensors.size(); ++i) {
    CHECK(ours.tensors[i].first == theirs.tensors[i].first);
    CHECK(ours.tensors[i].second.sizes() == theirs.tensors[i].second.sizes());
    CHECK(ours.tensors[i].second.dtype() == theirs.tensors[i].second.dtype());
    CHECK(max_relative_error(ours.tensors[i].second.to(DType::f64), theirs.tensors[i].second.to(DType::f64)) == 0);
  }
  CHECK(ours.metadata.at("format") == "pt");
}

TEST_CASE("load_safetensors errors name the file and every wrong key") {
  Wrapper wrapper;
  const std::string file = kFixtures + "torch_net.safetensors";
  // Without the prefix nothing matches: every name is missing and every key unexpected.
  const std::string unprefixed = error_of([&] { wrapper.load_safetensors(file); });
  CHECK(contains(unprefixed, "error(s) loading state_dict for Wrapper: missing keys: 'net.features.0.weight'"));
  CHECK(contains(unprefixed, "unexpected keys: 'features.0.weight'"));
  CHECK(contains(unprefixed, "(from " + file + ")"));
  // A prefix no key has would load nothing, even when not strict.
  CHECK(contains(error_of([&] { wrapper.load_safetensors(file, {.strip_prefix = "model.", .strict = false}); }),
                 "has no key starting with 'model.'"));
  // One layer of the file, renamed: the head into a Sequential's first layer.
  nn::Sequential head{std::make_shared<nn::Linear>(72, 10)};
  head.load_safetensors(file, {.strip_prefix = "head.", .add_prefix = "0."});
  // Another architecture: mis-shaped keys are named with both shapes.
  nn::Linear wrong(71, 10);
  const std::string mismatched = error_of([&] { wrong.load_safetensors(file, {.strip_prefix = "head."}); });
  CHECK(contains(mismatched, "size mismatch for: 'weight (the state has shape [10, 72], the Linear has shape [10, 71])'"));
  CHECK(contains(error_of([&] { Net().load_safetensors(kFixtures + "missing.safetensors"); }), "cannot open"));
}
