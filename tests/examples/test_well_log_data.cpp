// The well-log example's data: the raster generator, PNG files, the folder dataset and the
// collate that pads ragged rasters.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include <zlib.h>

#include "collate.h"
#include "dataset.h"
#include "distributed/temporary_directory.h"
#include "helpers.h"
#include "png_image.h"
#include "raster.h"

using namespace ember;
using namespace ember::testing;
using namespace well_log;

TEST_CASE("rasters are a pure function of seed and index, sized as the scale says") {
  const RasterSpec spec{.seed = 5, .scale = 1.0 / 8};
  std::set<int> classes_seen;
  for (std::int64_t i = 0; i < 6; ++i) {
    const RasterSize size = raster_size(spec, i);
    // 3,200-12,800 x 480-640 at full scale.
    CHECK((size.width >= 400 && size.width <= 1600 && size.height >= 60 && size.height <= 80));
    const Raster raster = render_raster(spec, i);
    CHECK((raster.size.height == size.height && raster.size.width == size.width));
    REQUIRE(raster.image.size() == static_cast<std::size_t>(size.height * size.width));
    REQUIRE(raster.label.size() == raster.image.size());
    CHECK(render_raster(spec, i).image == raster.image);  // drawn again: the same bytes
    CHECK(render_raster(spec, i).label == raster.label);
    for (std::uint8_t c : raster.label) classes_seen.insert(c);
  }
  CHECK(render_raster(spec, 0).image != render_raster(spec, 1).image);
  CHECK(render_raster({.seed = 6, .scale = 1.0 / 8}, 0).image != render_raster(spec, 0).image);
  // Over six rasters every class shows up, and nothing else.
  CHECK(classes_seen == std::set<int>{0, 1, 2, 3, 4, 5});
}

TEST_CASE("a raster's ink is where its labels say: curves darker than paper") {
  const Raster raster = render_raster({.seed = 2, .scale = 1.0 / 8}, 3);
  double curve = 0, background = 0;
  std::int64_t curves = 0, backgrounds = 0;
  for (std::size_t i = 0; i < raster.image.size(); ++i) {
    if (raster.label[i] >= kFirstCurve) {
      curve += raster.image[i];
      ++curves;
    } else if (raster.label[i] == kBackground) {
      background += raster.image[i];
      ++backgrounds;
    }
  }
  REQUIRE((curves > 0 && backgrounds > 0));
  // Curve ink darkens the paper by 55-95 %; background pixels are mostly paper.
  CHECK(curve / static_cast<double>(curves) < 0.6 * background / static_cast<double>(backgrounds));
}

TEST_CASE("the synthetic dataset gives the task's labels and the same example for any generator") {
  const RasterSpec spec{.seed = 1, .scale = 1.0 / 16};
  const SyntheticWellLogs binary(spec, 4, Task::binary), multiclass(spec, 4, Task::multiclass);
  Generator a(1), b(99);
  const data::Example first = binary.get(2, a), again = binary.get(2, b);
  CHECK(first[0].to_vector<float>() == again[0].to_vector<float>());
  const Raster raster = render_raster(spec, 2);
  REQUIRE(first[0].sizes() == Shape{1, raster.size.height, raster.size.width});
  REQUIRE(first[1].sizes() == Shape{raster.size.height, raster.size.width});
  const std::vector<std::int64_t> labels = first[1].to_vector<std::int64_t>();
  const std::vector<std::int64_t> classes = multiclass.get(2, a)[1].to_vector<std::int64_t>();
  const std::vector<float> ink = first[0].to_vector<float>();
  for (std::size_t i = 0; i < labels.size(); ++i) {
    CHECK(labels[i] == (raster.label[i] >= kFirstCurve ? 1 : 0));
    CHECK(classes[i] == raster.label[i]);
    CHECK(ink[i] == doctest::Approx(1.0 - raster.image[i] / 255.0));
  }
  CHECK(binary.raster_size(3).width == raster_size(spec, 3).width);
  CHECK(contains(error_of([&] { SyntheticWellLogs(spec, 0, Task::binary); }), "needs at least one raster"));
}

TEST_CASE("pad_rasters pads to the batch's largest size rounded up to 16, labels with the ignore index") {
  auto example = [](std::int64_t h, std::int64_t w, double value, std::int64_t label) {
    return data::Example{full({1, h, w}, value), full({h, w}, static_cast<double>(label), {.dtype = DType::i64})};
  };
  const data::Batch batch = pad_rasters({example(3, 5, 0.5, 1), example(17, 18, 0.25, 2)});
  // Largest 17 x 18 -> 32 x 32.
  REQUIRE(batch[0].sizes() == Shape{2, 1, 32, 32});
  REQUIRE(batch[1].sizes() == Shape{2, 32, 32});
  CHECK(batch[0].at<double>({0, 0, 2, 4}) == 0.5);
  CHECK(batch[0].at<double>({0, 0, 3, 4}) == 0.0);  // padding is blank paper
  CHECK(batch[1].at<std::int64_t>({0, 2, 4}) == 1);
  CHECK(batch[1].at<std::int64_t>({0, 2, 5}) == kIgnoreIndex);
  CHECK(batch[1].at<std::int64_t>({1, 16, 17}) == 2);
  CHECK(batch[1].at<std::int64_t>({1, 31, 31}) == kIgnoreIndex);
  // The mask counts the real pixels; the sizes are the originals.
  CHECK(sum(batch[2]).item<std::int64_t>() == 3 * 5 + 17 * 18);
  CHECK(batch[3].to_vector<std::int64_t>() == std::vector<std::int64_t>{3, 5, 17, 18});
}

TEST_CASE("PNG files round-trip, grey and colour, and bad files are errors naming the path") {
  const distributed::TemporaryDirectory dir("ember-png");
  Image grey{3, 4, 1, {0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 255}};
  write_png(dir.path() + "/grey.png", grey);
  const Image back = read_png(dir.path() + "/grey.png");
  CHECK((back.height == 3 && back.width == 4 && back.channels == 1));
  CHECK(back.pixels == grey.pixels);
  const Image size = png_size(dir.path() + "/grey.png");
  CHECK((size.height == 3 && size.width == 4));
  // Colour to grey: pure red, green and blue keep libpng's luminance weights' order.
  write_png(dir.path() + "/rgb.png", {1, 3, 3, {255, 0, 0, 0, 255, 0, 0, 0, 255}});
  const Image rgb = read_png(dir.path() + "/rgb.png", 3);
  CHECK(rgb.pixels == std::vector<std::uint8_t>{255, 0, 0, 0, 255, 0, 0, 0, 255});
  const Image as_grey = read_png(dir.path() + "/rgb.png", 1);
  CHECK((as_grey.pixels[1] > as_grey.pixels[0] && as_grey.pixels[0] > as_grey.pixels[2]));

  CHECK(contains(error_of([&] { read_png(dir.path() + "/missing.png"); }),
                 "cannot open '" + dir.path() + "/missing.png'"));
  // The first 40 bytes of a real PNG: the header parses, the pixel data is cut off.
  {
    std::ifstream whole(dir.path() + "/grey.png", std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(whole)), std::istreambuf_iterator<char>());
    std::ofstream(dir.path() + "/cut.png", std::ios::binary) << bytes.substr(0, 40);
  }
  CHECK(contains(error_of([&] { read_png(dir.path() + "/cut.png"); }), "read_png: '" + dir.path() + "/cut.png'"));
  std::ofstream(dir.path() + "/text.png") << "not a png at all";
  CHECK(contains(error_of([&] { read_png(dir.path() + "/text.png"); }), "is not a readable PNG"));
  CHECK(contains(error_of([&] {
                   write_png(dir.path() + "/bad.png", {2, 2, 1, {1, 2, 3}});
                 }),
                 "expected 2 x 2 x 1 pixels"));
}

TEST_CASE("a PNG header claiming more pixels than the file can hold is an Error before any allocation") {
  // A real 3 x 4 PNG with its IHDR rewritten to 16,384 x 16,384 (and the chunk's CRC fixed, so
  // libpng accepts the header): read as RGB that was an 805 MB allocation, zeroed, for a file of
  // about 70 bytes, before libpng found the pixel data missing.
  const distributed::TemporaryDirectory dir("ember-png-size");
  write_png(dir.path() + "/small.png", {3, 4, 1, std::vector<std::uint8_t>(12, 7)});
  std::ifstream whole(dir.path() + "/small.png", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(whole)), std::istreambuf_iterator<char>());
  // Signature (8), IHDR length (4), "IHDR" at 12, width at 16, height at 20, CRC after 13 data bytes.
  REQUIRE(bytes.substr(12, 4) == "IHDR");
  for (const std::size_t at : {16, 20}) bytes.replace(at, 4, std::string("\x00\x00\x40\x00", 4));
  const unsigned long crc = crc32(0, reinterpret_cast<const Bytef*>(bytes.data() + 12), 17);
  for (int i = 0; i < 4; ++i) bytes[29 + i] = static_cast<char>((crc >> (24 - 8 * i)) & 0xff);
  std::ofstream(dir.path() + "/huge.png", std::ios::binary) << bytes;
  const std::string message = error_of([&] { read_png(dir.path() + "/huge.png", 3); });
  CHECK(contains(message, "claims 16384 x 16384 pixels, more than its"));
  CHECK(contains(message, dir.path() + "/huge.png"));
}

TEST_CASE("generated PNG folders load as the synthetic rasters they came from") {
  const distributed::TemporaryDirectory dir("ember-well-log");
  const RasterSpec spec{.seed = 3, .scale = 1.0 / 16};
  write_rasters(spec, 3, dir.path());
  const WellLogFolder folder(dir.path(), Task::multiclass);
  const SyntheticWellLogs synthetic(spec, 3, Task::multiclass);
  REQUIRE(folder.size() == 3);
  Generator unused;
  for (std::int64_t i = 0; i < 3; ++i) {
    CHECK(folder.raster_size(i).width == synthetic.raster_size(i).width);
    CHECK(folder.get(i, unused)[0].to_vector<float>() == synthetic.get(i, unused)[0].to_vector<float>());
    CHECK(folder.get(i, unused)[1].to_vector<std::int64_t>() == synthetic.get(i, unused)[1].to_vector<std::int64_t>());
  }
  // A label file with a value that is no class is an error naming it.
  const Image header = png_size(dir.path() + "/labels/000001.png");
  write_png(dir.path() + "/labels/000001.png",
            {header.height, header.width, 1,
             std::vector<std::uint8_t>(static_cast<std::size_t>(header.height * header.width), 9)});
  CHECK(contains(error_of([&] { folder.get(1, unused); }), "000001.png' holds the value 9"));
  CHECK(contains(error_of([&] { WellLogFolder(dir.path() + "/nowhere", Task::binary); }),
                 "must hold images/ and labels/"));
}
