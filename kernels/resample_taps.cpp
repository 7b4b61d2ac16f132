#include "kernels/resample_taps.h"

#include <algorithm>
#include <cmath>

namespace ember::kernels {

AxisTaps AxisTaps::transposed(std::int64_t inputs) const {
  std::vector<std::int64_t> counts(static_cast<std::size_t>(inputs) + 1, 0);
  for (const std::int64_t i : index) ++counts[static_cast<std::size_t>(i) + 1];
  AxisTaps result;
  result.first.resize(static_cast<std::size_t>(inputs) + 1);
  for (std::size_t i = 0; i < static_cast<std::size_t>(inputs); ++i) result.first[i + 1] = result.first[i] + counts[i + 1];
  result.index.resize(index.size());
  result.weight.resize(weight.size());
  std::vector<std::int64_t> next(result.first.begin(), result.first.end() - 1);
  for (std::int64_t o = 0; o < outputs(); ++o) {  // outputs in order: each input's list is sorted
    for (auto t = static_cast<std::size_t>(first[static_cast<std::size_t>(o)]);
         t < static_cast<std::size_t>(first[static_cast<std::size_t>(o) + 1]); ++t) {
      const auto slot = static_cast<std::size_t>(next[static_cast<std::size_t>(index[t])]++);
      result.index[slot] = o;
      result.weight[slot] = weight[t];
    }
  }
  return result;
}

AxisTaps adaptive_average_taps(std::int64_t in, std::int64_t out) {
  AxisTaps taps;
  for (std::int64_t o = 0; o < out; ++o) {
    const std::int64_t begin = o * in / out;
    const std::int64_t end = ((o + 1) * in + out - 1) / out;
    for (std::int64_t i = begin; i < end; ++i) taps.add(i, 1.0 / static_cast<double>(end - begin));
    taps.end_output();
  }
  return taps;
}

AxisTaps nearest_taps(std::int64_t in, std::int64_t out, double scale) {
  AxisTaps taps;
  for (std::int64_t o = 0; o < out; ++o) {
    taps.add(std::min(static_cast<std::int64_t>(std::floor(static_cast<double>(o) * scale)), in - 1), 1.0);
    taps.end_output();
  }
  return taps;
}

AxisTaps linear_taps(std::int64_t in, std::int64_t out, double scale, bool align_corners) {
  AxisTaps taps;
  for (std::int64_t o = 0; o < out; ++o) {
    const double position = static_cast<double>(o);
    const double source =
        align_corners ? position * scale : std::max((position + 0.5) * scale - 0.5, 0.0);
    const std::int64_t low = std::min(static_cast<std::int64_t>(source), in - 1);
    const std::int64_t high = std::min(low + 1, in - 1);
    const double fraction = source - static_cast<double>(low);
    taps.add(low, 1.0 - fraction);
    taps.add(high, fraction);
    taps.end_output();
  }
  return taps;
}

}  // namespace ember::kernels
