#include "evaluation_memory.h"

#include <algorithm>
#include <optional>

#include "core/autograd/grad_mode.h"
#include "core/error.h"
#include "core/host_allocator.h"

namespace six_techniques {

namespace {

// Peak bytes tensors held above what was allocated before, while `forward(batch)` ran and its
// output (with its graph, when one is recorded) was alive.
std::int64_t forward_peak_bytes(const std::function<ember::Tensor(std::int64_t)>& forward, bool no_grad,
                                std::int64_t batch) {
  std::optional<ember::NoGradGuard> guard;
  if (no_grad) guard.emplace();
  const auto before = static_cast<std::int64_t>(ember::host_memory_stats().allocated_bytes);
  ember::host_reset_peak_memory();
  {
    const ember::Tensor output = forward(batch);
  }
  return static_cast<std::int64_t>(ember::host_memory_stats().peak_allocated_bytes) - before;
}

}  // namespace

EvaluationFit largest_evaluation_batch(const std::function<ember::Tensor(std::int64_t)>& forward, bool no_grad,
                                       std::int64_t budget_bytes, std::int64_t first) {
  const std::int64_t at_first = forward_peak_bytes(forward, no_grad, first);
  const std::int64_t at_second = forward_peak_bytes(forward, no_grad, 2 * first);
  EMBER_CHECK(at_first <= budget_bytes, "six_techniques: batch ", first, " already needs ", at_first,
              " bytes, over the evaluation budget of ", budget_bytes);
  const double per_example = std::max<double>(1, static_cast<double>(at_second - at_first) / static_cast<double>(first));
  std::int64_t batch =
      first + static_cast<std::int64_t>(static_cast<double>(budget_bytes - at_first) / per_example);
  // The line is a prediction: step down (by the excess, at least one) until the batch fits.
  for (std::int64_t peak = forward_peak_bytes(forward, no_grad, batch);; peak = forward_peak_bytes(forward, no_grad, batch)) {
    if (peak <= budget_bytes) return {batch, peak};
    const auto excess = static_cast<std::int64_t>(static_cast<double>(peak - budget_bytes) / per_example);
    batch = std::max(first, batch - std::max<std::int64_t>(1, excess));
  }
}

}  // namespace six_techniques
