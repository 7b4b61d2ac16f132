#pragma once
// Technique 6's second figure: the largest evaluation batch whose forward pass fits a memory
// budget, with the autograd graph recorded and under NoGradGuard. The peak bytes of ember's
// tensors during one forward (input, activations, output, and with the graph every activation
// a backward would need) grow linearly with the batch, so two small batches give the line, and
// the batch it predicts is then run to check it.
#include <cstdint>
#include <functional>

#include "core/tensor.h"

namespace six_techniques {

struct EvaluationFit {
  std::int64_t batch;       // the largest batch found within the budget
  std::int64_t peak_bytes;  // its measured peak (at most the budget)
};

// `forward(batch)` runs the model on an input of that many examples and returns the output.
// `first` is the smaller of the two batches the line is drawn through (the other is 2 * first).
EvaluationFit largest_evaluation_batch(const std::function<ember::Tensor(std::int64_t)>& forward, bool no_grad,
                                       std::int64_t budget_bytes, std::int64_t first);

}  // namespace six_techniques
