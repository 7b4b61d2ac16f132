#include "core/autocast.h"

#include <optional>

#include "core/ops/copy.h"

namespace ember {

namespace {
thread_local bool autocast_on = false;
thread_local DType autocast_lower_dtype = DType::f16;
}  // namespace

bool autocast_enabled() { return autocast_on; }
DType autocast_dtype() { return autocast_lower_dtype; }

AutocastGuard::AutocastGuard(DType dtype, bool enabled)
    : previous_enabled_(autocast_on), previous_dtype_(autocast_lower_dtype) {
  EMBER_CHECK(dtype == DType::f16 || dtype == DType::bf16, "autocast: the lower precision must be f16 or bf16, got ",
              dtype);
  autocast_on = enabled;
  if (enabled) autocast_lower_dtype = dtype;
}

AutocastGuard::~AutocastGuard() {
  autocast_on = previous_enabled_;
  autocast_lower_dtype = previous_dtype_;
}

namespace detail {

Tensor autocast_lower(const Tensor& input) {
  if (!autocast_on || !input.defined() || input.dtype() != DType::f32) return input;
  return to(input, autocast_lower_dtype);
}

Tensor autocast_f32(const Tensor& input) {
  if (!autocast_on || !input.defined()) return input;
  const DType dtype = input.dtype();
  return dtype == DType::f16 || dtype == DType::bf16 ? to(input, DType::f32) : input;
}

std::vector<Tensor> autocast_widest(const std::vector<Tensor>& inputs) {
  if (!autocast_on) return inputs;
  std::optional<DType> widest;
  for (const Tensor& t : inputs) {
    if (!t.defined() || !is_floating(t.dtype()) || widest == t.dtype()) continue;
    const DType d = t.dtype();
    if (!widest || size_of(d) > size_of(*widest)) {
      widest = d;
    } else if (size_of(d) == size_of(*widest)) {
      widest = DType::f32;  // f16 and bf16: neither holds the other
    }
  }
  if (!widest) return inputs;
  std::vector<Tensor> cast;
  for (const Tensor& t : inputs) cast.push_back(t.defined() && is_floating(t.dtype()) ? to(t, *widest) : t);
  return cast;
}

}  // namespace detail

}  // namespace ember
