#pragma once
// Inference on whole rasters of any size, and the pictures a user looks at.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/device.h"
#include "dataset.h"
#include "nn/unet.h"
#include "png_image.h"

namespace well_log {

// The class of every pixel of a grey image: padded to the net's multiple, one forward pass in
// eval mode without gradients on `device`, cropped back. Row-major, one byte per pixel.
std::vector<std::uint8_t> predict_classes(ember::nn::UNet& net, const Image& grey, ember::Device device);

// The grey image in colour, each pixel of a class other than background tinted by its class.
Image overlay(const Image& grey, const std::vector<std::uint8_t>& classes, Task task);

// For examples 0 .. count-1 of `dataset`: <directory>/preview_<i>.png, the prediction's overlay
// above the ground truth's.
void write_previews(ember::nn::UNet& net, const WellLogDataset& dataset, Task task, std::int64_t count,
                    const std::string& directory, ember::Device device);

// A U-Net with the architecture of the weights in a Trainer checkpoint of the Segmenter
// ("net.*" entries: widths, depth, classes and upsampling read off their shapes), loaded.
std::shared_ptr<ember::nn::UNet> load_unet(const std::string& checkpoint);

}  // namespace well_log
