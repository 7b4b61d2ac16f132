#include "nn/module.h"

#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include "core/autograd/grad_mode.h"
#include "core/ops/copy.h"

namespace ember::nn {

void Module::check_new_name(const std::string& name) const {
  EMBER_CHECK(!name.empty() && name.find('.') == std::string::npos, type_name(), ": invalid name '", name,
              "' (must be non-empty and contain no '.')");
  auto taken = [&](const auto& entries) {
    return std::any_of(entries.begin(), entries.end(), [&](const auto& entry) { return entry.first == name; });
  };
  EMBER_CHECK(!taken(parameters_) && !taken(buffers_) && !taken(children_), type_name(), ": name '", name,
              "' is already registered");
}

Tensor Module::register_parameter(const std::string& name, Tensor value, bool requires_grad) {
  check_new_name(name);
  value.set_requires_grad(requires_grad);
  parameters_.emplace_back(name, value);
  return value;
}

Tensor Module::register_buffer(const std::string& name, Tensor value) {
  check_new_name(name);
  buffers_.emplace_back(name, value);
  return value;
}

void Module::collect(StateDict& out, const std::string& prefix, bool parameters, bool buffers, bool recurse) const {
  if (parameters) {
    for (const auto& [name, tensor] : parameters_) out.emplace_back(prefix + name, tensor);
  }
  if (buffers) {
    for (const auto& [name, tensor] : buffers_) out.emplace_back(prefix + name, tensor);
  }
  if (!recurse) return;
  for (const auto& [name, child] : children_) child->collect(out, prefix + name + ".", parameters, buffers, true);
}

StateDict Module::named_parameters(bool recurse) const {
  StateDict out;
  collect(out, "", true, false, recurse);
  return out;
}

std::vector<Tensor> Module::parameters(bool recurse) const {
  std::vector<Tensor> out;
  for (auto& entry : named_parameters(recurse)) out.push_back(entry.second);
  return out;
}

std::vector<Tensor> Module::buffers(bool recurse) const {
  std::vector<Tensor> out;
  for (auto& entry : named_buffers(recurse)) out.push_back(entry.second);
  return out;
}

StateDict Module::named_buffers(bool recurse) const {
  StateDict out;
  collect(out, "", false, true, recurse);
  return out;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& entry : children_) entry.second->train(on);
}

StateDict Module::state_dict() const {
  StateDict out;
  collect(out, "", true, true, true);
  return out;
}

void Module::load_state_dict(const StateDict& state, bool strict) {
  const StateDict own = state_dict();
  std::map<std::string, const Tensor*> given;
  for (const auto& [name, value] : state) given[name] = &value;
  std::set<std::string> own_names;
  std::vector<std::string> missing, unexpected, mismatched;
  for (const auto& [name, target] : own) {
    own_names.insert(name);
    const auto found = given.find(name);
    if (found == given.end()) {
      missing.push_back(name);
    } else if (found->second->sizes() != target.sizes()) {
      mismatched.push_back(name + " (the state has shape " + to_string(found->second->sizes()) + ", the " +
                           type_name() + " has shape " + to_string(target.sizes()) + ")");
    }
  }
  for (const auto& [name, value] : state) {
    if (!own_names.count(name)) unexpected.push_back(name);
  }
  if (!mismatched.empty() || (strict && (!missing.empty() || !unexpected.empty()))) {
    std::ostringstream message;
    message << "load_state_dict: error(s) loading state_dict for " << type_name() << ":";
    auto list = [&](const char* what, const std::vector<std::string>& names) {
      if (names.empty()) return;
      message << ' ' << what << ':';
      for (const auto& n : names) message << " '" << n << "'";
      message << '.';
    };
    if (strict) {
      list("missing keys", missing);
      list("unexpected keys", unexpected);
    }
    list("size mismatch for", mismatched);
    throw Error(message.str());
  }
  NoGradGuard no_grad;
  for (const auto& [name, target] : own) {
    const auto found = given.find(name);
    if (found != given.end()) copy_(target, *found->second);
  }
}

void Module::zero_grad() {
  for (const Tensor& parameter : parameters()) parameter.reset_grad();
}

void Module::to(Device device) {
  NoGradGuard no_grad;
  for (const auto& [name, tensor] : state_dict()) {
    if (tensor.device() == device) continue;
    set_data(tensor, tensor.detach().to(device));
    if (tensor.requires_grad()) tensor.reset_grad();
  }
}

}  // namespace ember::nn
