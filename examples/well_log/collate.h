#pragma once
// The one piece the well-log team kept by hand: the collate that batches ragged rasters.
#include <cstdint>
#include <vector>

#include "data/collate.h"

namespace well_log {

// Labels of padding: cross_entropy, dice_loss and the metrics skip it.
inline constexpr std::int64_t kIgnoreIndex = -100;

// Pads each raster of the batch at the bottom and right to the batch's largest height and
// width, rounded up to `multiple` (the U-Net halves them 4 times: 16). Returns
//   [0] images [N, 1, H, W] (padding 0: blank paper)   [1] labels [N, H, W] (padding kIgnoreIndex)
//   [2] the valid mask [N, H, W] (bool)                 [3] the original sizes [N, 2] (i64: H, W)
ember::data::Batch pad_rasters(const std::vector<ember::data::Example>& examples, std::int64_t multiple = 16);

}  // namespace well_log
