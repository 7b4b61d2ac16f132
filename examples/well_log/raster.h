#pragma once
// Synthetic scanned well logs: grey rasters and their pixel labels, each a pure function of
// (seed, index, scale), so the same example comes out on any worker, in any order.
//
// A log runs along the width (depth) and is split across the height into 1-3 tracks. Each
// track has its border, a grid of major and minor lines, and 1-4 curves: smooth random
// functions of depth that wrap around at the track's edge (the way a plotter draws a value
// past the scale back in from the other side) and cross each other. A curve is one of four
// types that a digitiser tells apart by their line: solid, thick, dashed and dotted. Over it
// all: paper of uneven tone and illumination, scanner noise, and text-like clutter (depth
// numbers, curve names in the header).
#include <cstdint>
#include <vector>

namespace well_log {

// What a pixel shows. Curve type t (0-3) is class kFirstCurve + t.
enum PixelClass : std::uint8_t { kBackground = 0, kGrid = 1, kFirstCurve = 2 };
inline constexpr int kCurveTypes = 4;
inline constexpr int kClasses = kFirstCurve + kCurveTypes;
inline constexpr const char* kClassNames[kClasses] = {"background", "grid", "solid", "thick", "dashed", "dotted"};

struct RasterSize {
  std::int64_t height, width;
};

struct RasterSpec {
  std::uint64_t seed = 0;
  // Sizes and every length in the drawing (line widths, grid spacing, glyphs) scale with it:
  // 1 draws the full-scale 3,200-12,800 x 480-640 rasters, 1/8 the CPU default 400-1,600 x 60-80.
  double scale = 1.0 / 8;
};

// The height and width of raster `index`: cheap, for a sampler that buckets by width.
RasterSize raster_size(const RasterSpec& spec, std::int64_t index);

struct Raster {
  RasterSize size;
  std::vector<std::uint8_t> image;  // grey, row-major: 255 is white paper, 0 black ink
  std::vector<std::uint8_t> label;  // a PixelClass per pixel
};

// Raster `index` of the set `spec` describes.
Raster render_raster(const RasterSpec& spec, std::int64_t index);

}  // namespace well_log
