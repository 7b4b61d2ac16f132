#include "png_image.h"

#include <png.h>

#include <fstream>
#include <iterator>
#include <memory>

#include "core/error.h"
#include "io/atomic_file.h"

namespace well_log {

namespace {

// A simplified-API image whose resources are freed however we leave.
struct PngImage {
  png_image image{};
  PngImage() { image.version = PNG_IMAGE_VERSION; }
  ~PngImage() { png_image_free(&image); }
};

std::vector<std::uint8_t> read_bytes(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  EMBER_CHECK(file.good(), "read_png: cannot open '", path, "'");
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  EMBER_CHECK(!file.bad(), "read_png: reading '", path, "' failed");
  return bytes;
}

// Deflate makes at most 1032 bytes of one (its longest match, 258 bytes, costs at least two bits).
constexpr std::int64_t kMaxDeflateRatio = 1032;

// Parses the header of `bytes` into `png`; the image's size checked against kMaxPngPixels and
// against what the file's bytes can decompress to, so that a header claiming a huge image is an
// Error before anything that size is allocated.
void begin_read(PngImage& png, const std::vector<std::uint8_t>& bytes, const std::string& path) {
  EMBER_CHECK(png_image_begin_read_from_memory(&png.image, bytes.data(), bytes.size()) != 0, "read_png: '", path,
              "' is not a readable PNG (", png.image.message, ")");
  const auto height = static_cast<std::int64_t>(png.image.height), width = static_cast<std::int64_t>(png.image.width);
  EMBER_CHECK(width > 0 && height > 0 && width * height <= kMaxPngPixels, "read_png: '", path, "' is ", width, " x ",
              height, " pixels (at most ", kMaxPngPixels, " are read)");
  // Every row holds a filter byte and at least width / 8 bytes (1-bit pixels).
  const std::int64_t least_data = height * (1 + (width + 7) / 8);
  EMBER_CHECK(least_data <= kMaxDeflateRatio * static_cast<std::int64_t>(bytes.size()), "read_png: '", path,
              "' claims ", width, " x ", height, " pixels, more than its ", bytes.size(),
              " bytes can hold: the file is truncated or corrupt");
}

}  // namespace

Image read_png(const std::string& path, std::int64_t channels) {
  EMBER_CHECK(channels == 1 || channels == 3, "read_png: channels must be 1 or 3, got ", channels);
  const std::vector<std::uint8_t> bytes = read_bytes(path);
  PngImage png;
  begin_read(png, bytes, path);
  png.image.format = channels == 1 ? PNG_FORMAT_GRAY : PNG_FORMAT_RGB;
  Image out{png.image.height, png.image.width, channels, {}};
  out.pixels.resize(static_cast<std::size_t>(out.height * out.width * channels));
  EMBER_CHECK(png_image_finish_read(&png.image, nullptr, out.pixels.data(), 0, nullptr) != 0, "read_png: '", path,
              "' is corrupt (", png.image.message, ")");
  return out;
}

Image png_size(const std::string& path) {
  const std::vector<std::uint8_t> bytes = read_bytes(path);
  PngImage png;
  begin_read(png, bytes, path);
  return {png.image.height, png.image.width, 0, {}};
}

void write_png(const std::string& path, const Image& image) {
  EMBER_CHECK((image.channels == 1 || image.channels == 3) && image.height > 0 && image.width > 0 &&
                  image.pixels.size() == static_cast<std::size_t>(image.height * image.width * image.channels),
              "write_png: '", path, "': expected ", image.height, " x ", image.width, " x ", image.channels,
              " pixels (1 or 3 channels), got ", image.pixels.size());
  PngImage png;
  png.image.width = static_cast<png_uint_32>(image.width);
  png.image.height = static_cast<png_uint_32>(image.height);
  png.image.format = image.channels == 1 ? PNG_FORMAT_GRAY : PNG_FORMAT_RGB;
  png_alloc_size_t size = 0;
  EMBER_CHECK(png_image_write_get_memory_size(png.image, size, 0, image.pixels.data(), 0, nullptr) != 0,
              "write_png: encoding '", path, "' failed (", png.image.message, ")");
  std::vector<std::uint8_t> encoded(size);
  EMBER_CHECK(png_image_write_to_memory(&png.image, encoded.data(), &size, 0, image.pixels.data(), 0, nullptr) != 0,
              "write_png: encoding '", path, "' failed (", png.image.message, ")");
  ember::io::write_atomically(path, "write_png",
                                   [&](ember::io::FileSink& sink) { sink.write(encoded.data(), size); });
}

}  // namespace well_log
