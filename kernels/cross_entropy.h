#pragma once
// The problem of the fused softmax-cross-entropy kernels (kernels/{cpu,cuda}/softmax.h), shared
// by both devices. Row r of logits [rows, cols] with label y = labels[r], lse = log sum exp(row),
// class weights w (all ones when null), W = sum(w) and smoothing s has the loss
//   (1 - s) w[y] (lse - row[y]) + (s / cols) sum_c w[c] (lse - row[c]),
// or 0 when y == ignore_index; its gradient with respect to row[c], with p = softmax(row), is
//   (1 - s) w[y] (p[c] - [c == y]) + (s / cols) (W p[c] - w[c]).
// Labels other than ignore_index are in [0, cols): the op layer checks CPU labels, the CUDA
// kernel its own (without a wait for the device).
//
// The per-row formulas are written once below, for the CPU loops and the CUDA kernels
// (kernels/cpu/softmax.cpp, kernels/cuda/softmax.cu); each device only sums the pieces its way.
#include <cstdint>

#include "kernels/host_device.h"

namespace ember::kernels {

struct CrossEntropyProblem {
  std::int64_t rows = 0, cols = 0;
  const std::int64_t* labels = nullptr;  // [rows]
  const void* class_weight = nullptr;    // [cols] in the logits' dtype, or null
  std::int64_t ignore_index = -100;
  double label_smoothing = 0.0;
};

// w[c] in the compute type C, 1 without class weights; T is the device's element type.
template <class T, class C>
EMBER_HOST_DEVICE C class_weight(const CrossEntropyProblem& problem, std::int64_t c) {
  return problem.class_weight == nullptr ? C(1) : static_cast<C>(static_cast<const T*>(problem.class_weight)[c]);
}

// A counted row's loss from lse - row[y] (`label_term`) and uniform = sum_c w[c] (lse - row[c])
// (needed only with smoothing).
template <class C>
EMBER_HOST_DEVICE C cross_entropy_loss(const CrossEntropyProblem& problem, C label_weight, C label_term, C uniform) {
  const auto s = static_cast<C>(problem.label_smoothing);
  return (C(1) - s) * label_weight * label_term + s / static_cast<C>(problem.cols) * uniform;
}

// d loss / d row[c] of a counted row, from p = softmax(row)[c], whether c is the label, and
// W = sum of the class weights.
template <class C>
EMBER_HOST_DEVICE C cross_entropy_gradient(const CrossEntropyProblem& problem, C p, bool is_label, C label_weight,
                                           C weight_c, C weight_total) {
  const auto s = static_cast<C>(problem.label_smoothing);
  return (C(1) - s) * label_weight * (p - (is_label ? C(1) : C(0))) +
         s / static_cast<C>(problem.cols) * (weight_total * p - weight_c);
}

}  // namespace ember::kernels
