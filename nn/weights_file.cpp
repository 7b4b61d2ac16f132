// Module::load_safetensors / save_safetensors: a module's weights in the file format PyTorch and
// Hugging Face share (io/safetensors.h), so weights move between ember and PyTorch both ways.
#include "io/safetensors.h"
#include "nn/module.h"

namespace ember::nn {

namespace {

bool starts_with(const std::string& text, const std::string& prefix) { return text.rfind(prefix, 0) == 0; }

}  // namespace

void Module::load_safetensors(const std::string& path, const LoadOptions& options) {
  io::SafetensorsFile file = io::load_safetensors(path);
  StateDict state;
  for (auto& [key, tensor] : file.tensors) {
    if (!starts_with(key, options.strip_prefix)) continue;
    state.emplace_back(options.add_prefix + key.substr(options.strip_prefix.size()), std::move(tensor));
  }
  EMBER_CHECK(!state.empty() || state_dict().empty(), "load_safetensors: ", path, " has no key starting with '",
              options.strip_prefix, "'", file.tensors.empty() ? " (it holds no tensors)" : "",
              "; set LoadOptions::strip_prefix to the prefix its keys have");
  try {
    load_state_dict(state, options.strict);
  } catch (const Error& error) {
    fail(error.what(), " (from ", path, ")");
  }
}

void Module::save_safetensors(const std::string& path) const {
  StateDict state;
  for (const auto& [name, tensor] : state_dict()) state.emplace_back(name, tensor.detach().to(Device::cpu()));
  io::save_safetensors(path, state, {{"format", "pt"}});
}

}  // namespace ember::nn
