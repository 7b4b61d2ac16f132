#pragma once
// The taps of separable 2-D resampling, shared by the CPU and CUDA resample kernels.
//
// Every output pixel is a weighted sum of input pixels whose weights factor into a row part and
// a column part,
//   out[p, oh, ow] = sum_i sum_j row_weight(oh, i) col_weight(ow, j) in[p, i, j].
// Adaptive average pooling, nearest and bilinear upsampling differ only in those weights
// ("taps"), so one forward and one backward kernel per device serve all three.
#include <cstdint>
#include <vector>

namespace ember::kernels {

// One axis: output index o reads input indices index[first[o] .. first[o + 1]) with the
// matching weights (a compressed sparse row table).
struct AxisTaps {
  std::vector<std::int64_t> first{0};
  std::vector<std::int64_t> index;
  std::vector<double> weight;
  std::int64_t outputs() const { return static_cast<std::int64_t>(first.size()) - 1; }
  void add(std::int64_t input_index, double w) {
    index.push_back(input_index);
    weight.push_back(w);
  }
  void end_output() { first.push_back(static_cast<std::int64_t>(index.size())); }
  // The same taps seen from the input side: entry i lists the outputs that read input i, in
  // increasing output order, so a backward pass can give each input to one thread and add its
  // gradients in the order the CPU adds them.
  AxisTaps transposed(std::int64_t inputs) const;
};

// Output o averages inputs [floor(o in / out), ceil((o + 1) in / out)) (PyTorch's adaptive pooling).
AxisTaps adaptive_average_taps(std::int64_t in, std::int64_t out);
// Output o copies input min(floor(o scale), in - 1), scale = in / out unless given.
AxisTaps nearest_taps(std::int64_t in, std::int64_t out, double scale);
// Linear interpolation between the two inputs around the output's source coordinate:
// align_corners maps the corner pixels' centres onto each other, otherwise the pixel edges
// (source = (o + 0.5) scale - 0.5, clamped at 0), as PyTorch does.
AxisTaps linear_taps(std::int64_t in, std::int64_t out, double scale, bool align_corners);

}  // namespace ember::kernels
