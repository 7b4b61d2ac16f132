#pragma once
// Collate functions: turn a list of examples into one batch.
#include <functional>
#include <vector>

#include "data/dataset.h"

namespace ember::data {

using Batch = std::vector<Tensor>;
using CollateFn = std::function<Batch(const std::vector<Example>&)>;

// Stacks position k of every example into batch[k] (shapes must agree, like torch's default).
Batch default_collate(const std::vector<Example>& examples);

// For ragged images: position 0 holds [C, H, W] images of different H and W. Returns
//   batch[0]  images zero-padded at the bottom/right to the largest H and W, [N, C, Hmax, Wmax]
//   batch[1]  a bool mask [N, Hmax, Wmax], true on real pixels
//   batch[2]  the original sizes, i64 [N, 2] (H, W)
//   batch[3..] the remaining positions, stacked as default_collate does.
Batch pad_collate(const std::vector<Example>& examples);

}  // namespace ember::data
