#pragma once
// PNG files through libpng's simplified API: 8-bit grey or RGB images in and out.
#include <cstdint>
#include <string>
#include <vector>

namespace well_log {

struct Image {
  std::int64_t height = 0, width = 0, channels = 0;  // channels: 1 (grey) or 3 (RGB)
  std::vector<std::uint8_t> pixels;                  // row-major, channels interleaved
};

// The largest image read: 2^28 pixels (a 16,384 x 16,384 scan), 768 MiB as RGB.
inline constexpr std::int64_t kMaxPngPixels = std::int64_t{1} << 28;

// Reads `path` converted to `channels` (1: grey, colour turned grey by libpng's weights; 3: RGB).
// A missing, truncated or corrupt file, or one over kMaxPngPixels, is an ember::Error naming the path.
Image read_png(const std::string& path, std::int64_t channels = 1);
// The height and width in `path`'s header, without decoding the pixels.
Image png_size(const std::string& path);
// Writes `image` to `path` atomically (a temporary file renamed over the target).
void write_png(const std::string& path, const Image& image);

}  // namespace well_log
