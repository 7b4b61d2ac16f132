#include "dataset.h"

#include <algorithm>
#include <filesystem>

#include "core/ember.h"

namespace well_log {

namespace fs = std::filesystem;
using ember::Tensor;

Task parse_task(const std::string& name) {
  if (name == "binary") return Task::binary;
  EMBER_CHECK(name == "multiclass", "--task: expected binary or multiclass, got '", name, "'");
  return Task::multiclass;
}

std::int64_t class_count(Task task) { return task == Task::binary ? 2 : kClasses; }

const char* class_name(Task task, std::int64_t label) {
  if (task == Task::binary) return label == 1 ? "curve" : "background";
  return kClassNames[label];
}

Tensor image_tensor(const Image& grey) {
  EMBER_CHECK(grey.channels == 1, "image_tensor: expected a grey image, got ", grey.channels, " channels");
  Tensor image = ember::empty({1, grey.height, grey.width});
  float* out = image.data<float>();
  for (std::size_t i = 0; i < grey.pixels.size(); ++i) out[i] = 1.0f - static_cast<float>(grey.pixels[i]) / 255.0f;
  return image;
}

namespace {

// The task's labels [H, W] for PixelClass values.
Tensor label_tensor(const std::vector<std::uint8_t>& classes, RasterSize size, Task task) {
  Tensor labels = ember::empty({size.height, size.width}, {.dtype = ember::DType::i64});
  std::int64_t* out = labels.data<std::int64_t>();
  for (std::size_t i = 0; i < classes.size(); ++i) {
    out[i] = task == Task::binary ? (classes[i] >= kFirstCurve ? 1 : 0) : classes[i];
  }
  return labels;
}

}  // namespace

std::vector<std::int64_t> WellLogDataset::widths() const {
  std::vector<std::int64_t> out;
  for (std::int64_t i = 0; i < size(); ++i) out.push_back(raster_size(i).width);
  return out;
}

SyntheticWellLogs::SyntheticWellLogs(RasterSpec spec, std::int64_t count, Task task)
    : spec_(spec), count_(count), task_(task) {
  EMBER_CHECK(count >= 1, "SyntheticWellLogs: needs at least one raster, got ", count);
  EMBER_CHECK(spec.scale > 0 && spec.scale <= 1, "SyntheticWellLogs: scale must be in (0, 1], got ", spec.scale);
}

ember::data::Example SyntheticWellLogs::get(std::int64_t index, ember::Generator&) const {
  // The loader's per-epoch stream goes unused: raster i is the same every epoch.
  const Raster raster = render_raster(spec_, index);
  return {image_tensor({raster.size.height, raster.size.width, 1, raster.image}),
          label_tensor(raster.label, raster.size, task_)};
}

RasterSize SyntheticWellLogs::raster_size(std::int64_t index) const { return well_log::raster_size(spec_, index); }

WellLogFolder::WellLogFolder(const std::string& directory, Task task) : directory_(directory), task_(task) {
  const fs::path images = fs::path(directory) / "images";
  EMBER_CHECK(fs::is_directory(images) && fs::is_directory(fs::path(directory) / "labels"), "WellLogFolder: '",
              directory, "' must hold images/ and labels/ (as `well_log generate` writes them)");
  for (const auto& entry : fs::directory_iterator(images)) {
    if (entry.path().extension() == ".png") names_.push_back(entry.path().stem().string());
  }
  std::sort(names_.begin(), names_.end());
  EMBER_CHECK(!names_.empty(), "WellLogFolder: no .png files in '", images.string(), "'");
  for (const std::string& name : names_) {
    const Image header = png_size((images / (name + ".png")).string());
    sizes_.push_back({header.height, header.width});
  }
}

ember::data::Example WellLogFolder::get(std::int64_t index, ember::Generator&) const {
  const std::string& name = names_[static_cast<std::size_t>(index)];
  const Image image = read_png(directory_ + "/images/" + name + ".png", 1);
  const std::string label_path = directory_ + "/labels/" + name + ".png";
  const Image classes = read_png(label_path, 1);
  EMBER_CHECK(classes.height == image.height && classes.width == image.width, "WellLogFolder: '", label_path, "' is ",
              classes.height, " x ", classes.width, ", its image ", image.height, " x ", image.width);
  const auto bad =
      std::find_if(classes.pixels.begin(), classes.pixels.end(), [](std::uint8_t c) { return c >= kClasses; });
  EMBER_CHECK(bad == classes.pixels.end(), "WellLogFolder: '", label_path, "' holds the value ", static_cast<int>(*bad),
              " (labels are classes 0 to ", kClasses - 1, ")");
  return {image_tensor(image), label_tensor(classes.pixels, {image.height, image.width}, task_)};
}

void write_rasters(const RasterSpec& spec, std::int64_t count, const std::string& directory) {
  fs::create_directories(fs::path(directory) / "images");
  fs::create_directories(fs::path(directory) / "labels");
#pragma omp parallel for schedule(dynamic)
  for (std::int64_t i = 0; i < count; ++i) {
    const Raster raster = render_raster(spec, i);
    char name[16];
    std::snprintf(name, sizeof(name), "%06lld.png", static_cast<long long>(i));
    write_png(directory + "/images/" + name, {raster.size.height, raster.size.width, 1, raster.image});
    write_png(directory + "/labels/" + name, {raster.size.height, raster.size.width, 1, raster.label});
  }
}

}  // namespace well_log
