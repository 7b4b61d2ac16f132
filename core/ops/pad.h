#pragma once
// Padding the last dims of a tensor, as PyTorch's torch.nn.functional.pad.
#include <vector>

#include "core/tensor.h"

namespace ember {

enum class PadMode {
  constant,   // `value` around the input (zeros by default)
  reflect,    // the input mirrored at its edge, the edge not repeated: 2 1 | 0 1 2 3 | 2 1
  replicate,  // the edge element repeated: 0 0 | 0 1 2 3 | 3 3
  circular,   // the input wrapped around: 2 3 | 0 1 2 3 | 0 1
};

const char* to_string(PadMode mode);

// `padding` holds (before, after) pairs from the last dim backwards, as PyTorch's: {left, right}
// pads the last dim, {left, right, top, bottom} the last two. Sizes are >= 0; reflect needs each
// smaller than the dim it pads, circular at most that dim. The gradient sums every copy of an
// element back into it.
Tensor pad(const Tensor& input, const std::vector<std::int64_t>& padding, PadMode mode = PadMode::constant,
           double value = 0);

}  // namespace ember
