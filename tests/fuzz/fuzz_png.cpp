// libFuzzer harness: any bytes as a PNG raster of the well-log example (libpng through its reader).
#include "core/error.h"
#include "fuzz_input.h"
#include "png_image.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string& path = ember::fuzz::input_file(data, size, "png");
  for (const std::int64_t channels : {1, 3}) {
    try {
      const well_log::Image image = well_log::read_png(path, channels);
      if (static_cast<std::int64_t>(image.pixels.size()) != image.height * image.width * channels) __builtin_trap();
    } catch (const ember::Error&) {
    }
  }
  return 0;
}
