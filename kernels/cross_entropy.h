#pragma once
// The problem of the fused softmax-cross-entropy kernels (kernels/{cpu,cuda}/softmax.h), shared
// by both devices. Row r of logits [rows, cols] with label y = labels[r], lse = log sum exp(row),
// class weights w (all ones when null), W = sum(w) and smoothing s has the loss
//   (1 - s) w[y] (lse - row[y]) + (s / cols) sum_c w[c] (lse - row[c]),
// or 0 when y == ignore_index; its gradient with respect to row[c], with p = softmax(row), is
//   (1 - s) w[y] (p[c] - [c == y]) + (s / cols) (W p[c] - w[c]).
// Labels other than ignore_index are in [0, cols): the op layer checks CPU labels, the CUDA
// kernel its own (without a wait for the device).
#include <cstdint>

namespace ember::kernels {

struct CrossEntropyProblem {
  std::int64_t rows = 0, cols = 0;
  const std::int64_t* labels = nullptr;  // [rows]
  const void* class_weight = nullptr;    // [cols] in the logits' dtype, or null
  std::int64_t ignore_index = -100;
  double label_smoothing = 0.0;
};

}  // namespace ember::kernels
