#include "raster.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <string>

#include "core/ember.h"

namespace well_log {

namespace {

using ember::Generator;

// Host-side draws from raster `index`'s own Philox stream: the key is the set's seed and each
// raster owns 2^32 counters of it, so rasters are independent and any one can be drawn alone.
class Random {
 public:
  Random(std::uint64_t seed, std::int64_t index) : generator_(seed) {
    generator_.set_state(seed, static_cast<std::uint64_t>(index) << 32);
  }
  double uniform(double low, double high) { return low + (high - low) * generator_.next_uniform(); }
  // A whole number in [low, high].
  std::int64_t integer(std::int64_t low, std::int64_t high) {
    return std::min(high,
                    low + static_cast<std::int64_t>(generator_.next_uniform() * static_cast<float>(high - low + 1)));
  }
  bool chance(double p) { return generator_.next_uniform() < p; }
  Generator& generator() { return generator_; }

 private:
  Generator generator_;
};

constexpr double kTwoPi = 2 * std::numbers::pi;

// The paper as it is drawn on: how much light each pixel reflects (1 white, 0 black ink) and
// what it shows.
class Canvas {
 public:
  explicit Canvas(RasterSize size)
      : size_(size),
        paper_(static_cast<std::size_t>(size.height * size.width), 1.0f),
        label_(static_cast<std::size_t>(size.height * size.width), kBackground) {}

  bool inside(std::int64_t y, std::int64_t x) const { return y >= 0 && y < size_.height && x >= 0 && x < size_.width; }
  // Ink of `darkness` over a `coverage` share of pixel (y, x); where it covers at least half the
  // pixel, the pixel shows `what`.
  void ink(std::int64_t y, std::int64_t x, double darkness, double coverage, PixelClass what) {
    if (!inside(y, x) || coverage <= 0) return;
    const auto i = static_cast<std::size_t>(y * size_.width + x);
    paper_[i] *= static_cast<float>(1 - darkness * std::min(coverage, 1.0));
    if (coverage >= 0.5) label_[i] = what;
  }
  void fill(std::int64_t y0, std::int64_t y1, std::int64_t x0, std::int64_t x1, double darkness, PixelClass what) {
    for (std::int64_t y = y0; y < y1; ++y)
      for (std::int64_t x = x0; x < x1; ++x) ink(y, x, darkness, 1, what);
  }
  const RasterSize& size() const { return size_; }
  std::vector<float>& paper() { return paper_; }
  std::vector<std::uint8_t>& label() { return label_; }

 private:
  RasterSize size_;
  std::vector<float> paper_;
  std::vector<std::uint8_t> label_;
};

// A horizontal band of the raster holding one track.
struct Track {
  std::int64_t top, bottom;  // rows [top, bottom)
  std::int64_t height() const { return bottom - top; }
};

// --- grid -------------------------------------------------------------------------------------

void draw_grid(Canvas& canvas, const Track& track, double s, Random& random) {
  const std::int64_t width = canvas.size().width;
  // The border: the track's first and last rows.
  const double border = random.uniform(0.5, 0.8);
  const auto border_rows = std::max<std::int64_t>(1, std::llround(random.uniform(1.0, 1.6) * s));
  canvas.fill(track.top, track.top + border_rows, 0, width, border, kGrid);
  canvas.fill(track.bottom - border_rows, track.bottom, 0, width, border, kGrid);
  // Depth lines across the track, every `spacing` columns, each `major_every`-th darker.
  const double spacing = std::max(4.0, random.uniform(4.5, 10.0) * s);
  const std::int64_t major_every = random.chance(0.5) ? 5 : 10;
  const double minor = random.uniform(0.15, 0.35), major = random.uniform(0.35, 0.6);
  const auto major_width = std::max<std::int64_t>(1, std::llround(1.4 * s));
  const double offset = random.uniform(0, spacing * static_cast<double>(major_every));
  for (auto k = -static_cast<std::int64_t>(std::ceil(offset / spacing));; ++k) {
    const double at = offset + static_cast<double>(k) * spacing;
    if (at >= static_cast<double>(width)) break;
    if (at < 0) continue;
    const auto x = static_cast<std::int64_t>(at);
    const bool is_major = (k % major_every + major_every) % major_every == 0;
    canvas.fill(track.top, track.bottom, x, x + (is_major ? major_width : 1), is_major ? major : minor, kGrid);
  }
  // Value divisions along the track.
  const auto divisions =
      std::clamp<std::int64_t>(std::llround(static_cast<double>(track.height()) / (random.uniform(8, 14) * s)), 2, 10);
  for (std::int64_t k = 1; k < divisions; ++k) {
    const std::int64_t y = track.top + track.height() * k / divisions;
    canvas.fill(y, y + 1, 0, width, 2 * k == divisions ? major : minor, kGrid);
  }
}

// --- text-like clutter ------------------------------------------------------------------------

// A 3x5 bitmap font: five rows of three bits, the high bit on the left.
struct Glyph {
  char c;
  std::uint8_t rows[5];
};
constexpr Glyph kFont[] = {
    {'0', {7, 5, 5, 5, 7}}, {'1', {2, 6, 2, 2, 7}}, {'2', {7, 1, 7, 4, 7}}, {'3', {7, 1, 7, 1, 7}},
    {'4', {5, 5, 7, 1, 1}}, {'5', {7, 4, 7, 1, 7}}, {'6', {7, 4, 7, 5, 7}}, {'7', {7, 1, 2, 2, 2}},
    {'8', {7, 5, 7, 5, 7}}, {'9', {7, 5, 7, 1, 7}}, {'A', {2, 5, 7, 5, 5}}, {'B', {6, 5, 6, 5, 6}},
    {'C', {7, 4, 4, 4, 7}}, {'D', {6, 5, 5, 5, 6}}, {'E', {7, 4, 6, 4, 7}}, {'G', {7, 4, 5, 5, 7}},
    {'H', {5, 5, 7, 5, 5}}, {'I', {7, 2, 2, 2, 7}}, {'L', {4, 4, 4, 4, 7}}, {'N', {6, 5, 5, 5, 5}},
    {'O', {7, 5, 5, 5, 7}}, {'P', {7, 5, 7, 4, 4}}, {'R', {6, 5, 6, 5, 5}}, {'S', {7, 4, 7, 1, 7}},
    {'T', {7, 2, 2, 2, 2}},
};
constexpr const char* kCurveNames[] = {"GR", "RHOB", "NPHI", "DT", "SP", "CALI", "ILD", "PE"};

// Draws `text` with its top-left corner at (y, x), `pixel` raster pixels per font pixel. Text
// is clutter: it stays background.
void draw_text(Canvas& canvas, const std::string& text, std::int64_t y, std::int64_t x, std::int64_t pixel,
               double darkness) {
  for (char c : text) {
    const auto glyph = std::find_if(std::begin(kFont), std::end(kFont), [c](const Glyph& g) { return g.c == c; });
    if (glyph != std::end(kFont)) {
      for (std::int64_t row = 0; row < 5; ++row)
        for (std::int64_t col = 0; col < 3; ++col)
          if (glyph->rows[row] >> (2 - col) & 1) {
            canvas.fill(y + row * pixel, y + (row + 1) * pixel, x + col * pixel, x + (col + 1) * pixel, darkness,
                        kBackground);
          }
    }
    x += 4 * pixel;
  }
}

void draw_clutter(Canvas& canvas, const std::vector<Track>& tracks, std::int64_t header, double s, Random& random) {
  const std::int64_t width = canvas.size().width;
  const auto pixel = std::max<std::int64_t>(1, std::llround(random.uniform(1.0, 1.4) * s));
  // Curve names in the header band.
  for (std::size_t t = 0; t < tracks.size(); ++t) {
    const std::int64_t names = random.integer(1, 3);
    for (std::int64_t k = 0; k < names; ++k) {
      const char* name = kCurveNames[random.integer(0, std::size(kCurveNames) - 1)];
      const std::int64_t y = random.integer(0, std::max<std::int64_t>(0, header - 5 * pixel));
      draw_text(canvas, name, y, random.integer(0, width - 1), pixel, random.uniform(0.5, 0.9));
    }
  }
  // Depth numbers here and there inside the tracks.
  const std::int64_t numbers = random.integer(1, 2 + width / std::max<std::int64_t>(1, std::llround(160 * s)));
  const std::int64_t first_depth = random.integer(100, 4000);
  for (std::int64_t k = 0; k < numbers; ++k) {
    const Track& track =
        tracks[static_cast<std::size_t>(random.integer(0, static_cast<std::int64_t>(tracks.size()) - 1))];
    const std::int64_t x = random.integer(0, width - 1);
    const std::int64_t y = random.integer(track.top, std::max(track.top, track.bottom - 5 * pixel));
    draw_text(canvas, std::to_string(first_depth + x / 8), y, x, pixel, random.uniform(0.45, 0.8));
  }
}

// --- curves -----------------------------------------------------------------------------------

// How a curve type is drawn, in raster pixels at scale 1/8 (the ranges grow with the scale).
struct CurveStyle {
  double width_low, width_high;
  double darkness_low, darkness_high;
  double dash_low, dash_high, gap_low, gap_high;  // 0: a solid line
};
constexpr CurveStyle kStyles[kCurveTypes] = {
    {1.8, 2.4, 0.70, 0.95, 0, 0, 0, 0},   // solid
    {3.2, 4.4, 0.55, 0.85, 0, 0, 0, 0},   // thick
    {1.8, 2.4, 0.70, 0.95, 8, 14, 4, 7},  // dashed
    {2.0, 2.6, 0.75, 0.95, 2, 3, 2, 3},   // dotted
};

// A smooth random function of depth in track units (0 at the track's top, 1 at its bottom),
// sampled at each column's centre: a level, a drift, a few sine waves of random wavelength and,
// for some curves, a bump large enough to leave the track and wrap around.
std::vector<double> curve_values(std::int64_t width, double s, Random& random) {
  struct Wave {
    double amplitude, wavelength, phase;
  };
  std::vector<Wave> waves(5);
  double total = 0;
  for (Wave& wave : waves) {
    wave.wavelength = std::exp(random.uniform(std::log(40.0), std::log(1200.0))) * s;
    wave.amplitude = random.uniform(0.3, 1.0) * std::sqrt(wave.wavelength / (1200 * s));
    wave.phase = random.uniform(0, kTwoPi);
    total += wave.amplitude;
  }
  const double swing = random.uniform(0.15, 0.45) / total;
  const double level = random.uniform(0.15, 0.85), drift = random.uniform(-0.3, 0.3);
  const bool bump = random.chance(0.35);
  const double bump_height = (random.chance(0.5) ? 1 : -1) * random.uniform(0.5, 1.2);
  const double bump_at = random.uniform(0, static_cast<double>(width)), bump_width = random.uniform(30, 200) * s;
  std::vector<double> values(static_cast<std::size_t>(width));
  for (std::int64_t x = 0; x < width; ++x) {
    const double at = static_cast<double>(x) + 0.5;
    double v = level + drift * (at / static_cast<double>(width) - 0.5);
    for (const Wave& wave : waves) v += swing * wave.amplitude * std::sin(kTwoPi * at / wave.wavelength + wave.phase);
    if (bump) v += bump_height * std::exp(-std::pow((at - bump_at) / bump_width, 2));
    values[static_cast<std::size_t>(x)] = v;
  }
  return values;
}

// Draws one curve into its track, column by column: at column x the line's centre is at row
// top + (v - k) * height for the copies k that reach the track (wrap-around), and a pixel's
// coverage follows its distance to the line across the line's slope.
void draw_curve(Canvas& canvas, const Track& track, int type, double s, Random& random) {
  const CurveStyle& style = kStyles[type];
  const std::int64_t width = canvas.size().width;
  const double line = std::max(1.2, random.uniform(style.width_low, style.width_high) * s);
  const double darkness = random.uniform(style.darkness_low, style.darkness_high);
  const bool dashed = style.dash_high > 0;
  const double dash = dashed ? random.uniform(style.dash_low, style.dash_high) * s : 0;
  const double gap = dashed ? random.uniform(style.gap_low, style.gap_high) * s : 0;
  double along = dashed ? random.uniform(0, dash + gap) : 0;  // arc length, for the dash pattern
  const std::vector<double> values = curve_values(width, s, random);
  const auto height = static_cast<double>(track.height());
  const auto what = static_cast<PixelClass>(kFirstCurve + type);
  for (std::int64_t x = 0; x < width; ++x) {
    const std::size_t i = static_cast<std::size_t>(x);
    const double v = values[i];
    const double slope = (values[std::min(i + 1, values.size() - 1)] - values[i == 0 ? 0 : i - 1]) * height /
                         (i == 0 || i + 1 == values.size() ? 1.0 : 2.0);
    const double stretch = std::sqrt(1 + slope * slope);  // arc length per column
    along += stretch;
    if (dashed && std::fmod(along, dash + gap) >= dash) continue;
    const double reach = line / 2 * stretch + 1;  // rows the line can touch around its centre
    for (double k = std::floor(v) - 1; k <= std::floor(v) + 1; ++k) {
      const double centre = static_cast<double>(track.top) + (v - k) * height;
      const auto first = std::max(track.top, static_cast<std::int64_t>(std::floor(centre - reach)));
      const auto last = std::min(track.bottom - 1, static_cast<std::int64_t>(std::ceil(centre + reach)));
      for (std::int64_t y = first; y <= last; ++y) {
        const double distance = std::abs(static_cast<double>(y) + 0.5 - centre) / stretch;
        canvas.ink(y, x, darkness, std::clamp(line / 2 + 0.5 - distance, 0.0, 1.0), what);
      }
    }
  }
}

// --- paper and scan ---------------------------------------------------------------------------

// Paper tone times uneven illumination (a slow wave along the depth and a gradient across),
// plus scanner noise, as 8-bit grey.
std::vector<std::uint8_t> scan(Canvas& canvas, Random& random) {
  const RasterSize size = canvas.size();
  const double tone = random.uniform(0.82, 0.96);
  const double wave = random.uniform(0, 0.06), wavelength = random.uniform(0.5, 3.0) * static_cast<double>(size.width);
  const double phase = random.uniform(0, kTwoPi), tilt = random.uniform(-0.08, 0.08);
  const double noise = random.uniform(0.01, 0.045);
  const ember::Tensor grain = ember::randn({size.height, size.width}, {}, random.generator());
  const float* grain_values = grain.data<float>();
  std::vector<std::uint8_t> image(canvas.paper().size());
  for (std::int64_t y = 0; y < size.height; ++y) {
    const double across = tilt * (static_cast<double>(y) / static_cast<double>(size.height) - 0.5);
    for (std::int64_t x = 0; x < size.width; ++x) {
      const auto i = static_cast<std::size_t>(y * size.width + x);
      const double light = tone * (1 + across + wave * std::cos(kTwoPi * static_cast<double>(x) / wavelength + phase));
      const double value = light * canvas.paper()[i] + noise * grain_values[i];
      image[i] = static_cast<std::uint8_t>(std::lround(std::clamp(value, 0.0, 1.0) * 255));
    }
  }
  return image;
}

}  // namespace

RasterSize raster_size(const RasterSpec& spec, std::int64_t index) {
  Random random(spec.seed, index);
  const double width = random.uniform(3200, 12800) * spec.scale, height = random.uniform(480, 640) * spec.scale;
  return {std::max<std::int64_t>(32, std::llround(height)), std::max<std::int64_t>(32, std::llround(width))};
}

Raster render_raster(const RasterSpec& spec, std::int64_t index) {
  const RasterSize size = raster_size(spec, index);
  Random random(spec.seed, index);
  random.uniform(0, 1);  // the two draws raster_size made
  random.uniform(0, 1);
  const double s = spec.scale * 8;  // lengths below are given at scale 1/8
  Canvas canvas(size);
  // A header band, then the tracks stacked down to a small bottom margin.
  const auto header = std::llround(random.uniform(0.06, 0.12) * static_cast<double>(size.height));
  const auto footer = std::llround(random.uniform(0.01, 0.04) * static_cast<double>(size.height));
  const double pick = random.uniform(0, 1);
  const std::int64_t count = pick < 0.3 ? 1 : pick < 0.75 ? 2 : 3;
  const auto gap = std::max<std::int64_t>(1, std::llround(2 * s));
  const std::int64_t band = size.height - header - footer;
  std::vector<Track> tracks;
  for (std::int64_t t = 0; t < count; ++t) {
    tracks.push_back({header + band * t / count + (t > 0 ? gap : 0), header + band * (t + 1) / count});
  }
  for (const Track& track : tracks) draw_grid(canvas, track, s, random);
  draw_clutter(canvas, tracks, header, s, random);
  for (const Track& track : tracks) {
    const std::int64_t curves = random.integer(1, 4);
    for (std::int64_t c = 0; c < curves; ++c) {
      draw_curve(canvas, track, static_cast<int>(random.integer(0, kCurveTypes - 1)), s, random);
    }
  }
  return {size, scan(canvas, random), std::move(canvas.label())};
}

}  // namespace well_log
