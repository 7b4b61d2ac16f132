#pragma once
// The well-log datasets: synthetic rasters drawn on the loader's workers, or a folder of PNG
// files (what `well_log generate` writes, or a user's own scans and labels). Each example is
//   [0] the image, f32 [1, H, W]: ink as 1 - grey / 255 (paper near 0, so zero padding is paper)
//   [1] the labels, i64 [H, W]: the task's class of every pixel
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "data/dataset.h"
#include "png_image.h"
#include "raster.h"

namespace well_log {

// binary: curve (1) against everything else (0); multiclass: the PixelClass of raster.h.
enum class Task { binary, multiclass };

Task parse_task(const std::string& name);
std::int64_t class_count(Task task);
const char* class_name(Task task, std::int64_t label);

// The network's input for a grey image.
ember::Tensor image_tensor(const Image& grey);

class WellLogDataset : public ember::data::Dataset {
 public:
  // Example i's height and width, known without loading it (a bucketing sampler needs them).
  virtual RasterSize raster_size(std::int64_t index) const = 0;
  std::vector<std::int64_t> widths() const;
};

// `count` rasters of the set `spec` describes, drawn when asked for: example i is raster i.
class SyntheticWellLogs : public WellLogDataset {
 public:
  SyntheticWellLogs(RasterSpec spec, std::int64_t count, Task task);
  std::int64_t size() const override { return count_; }
  ember::data::Example get(std::int64_t index, ember::Generator& generator) const override;
  RasterSize raster_size(std::int64_t index) const override;

 private:
  RasterSpec spec_;
  std::int64_t count_;
  Task task_;
};

// DIR/images/<name>.png (grey or colour scans) with DIR/labels/<name>.png (one grey value per
// pixel: its PixelClass), paired by name in sorted order.
class WellLogFolder : public WellLogDataset {
 public:
  WellLogFolder(const std::string& directory, Task task);
  std::int64_t size() const override { return static_cast<std::int64_t>(names_.size()); }
  ember::data::Example get(std::int64_t index, ember::Generator& generator) const override;
  RasterSize raster_size(std::int64_t index) const override { return sizes_[static_cast<std::size_t>(index)]; }

 private:
  std::string directory_;
  std::vector<std::string> names_;
  std::vector<RasterSize> sizes_;
  Task task_;
};

// Writes rasters [0, count) of `spec` under `directory` in WellLogFolder's layout.
void write_rasters(const RasterSpec& spec, std::int64_t count, const std::string& directory);

}  // namespace well_log
