#pragma once
// Small helpers shared by the tests.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/cuda.h"
#include "core/ember.h"

namespace ember::testing {

// The argument of a function under gradcheck.
using Inputs = std::vector<Tensor>;

// The message of the ember::Error `body` throws ("" when it throws none).
template <class Body>
std::string error_of(Body&& body) {
  try {
    body();
  } catch (const Error& error) {
    return error.what();
  }
  return "";
}

inline bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// Largest |got - want| / max(1, |want|) over all elements, compared in f64 (any devices); NaN
// where one side has a NaN the other lacks (an unwritten, poisoned element).
inline double max_relative_error(const Tensor& got, const Tensor& want) {
  const std::vector<double> g = got.to_vector<double>(), w = want.to_vector<double>();
  double worst = 0;
  for (std::size_t i = 0; i < g.size(); ++i) {
    if (std::isnan(g[i]) != std::isnan(w[i])) return NAN;
    if (std::isnan(w[i]) || g[i] == w[i]) continue;
    worst = std::max(worst, std::abs(g[i] - w[i]) / std::max(1.0, std::abs(w[i])));
  }
  return worst;
}

// An f64 leaf with N(0, 1) values, requiring grad.
inline Tensor leaf(const Shape& sizes, std::uint64_t seed) {
  Generator generator(seed);
  return randn(sizes, {.dtype = DType::f64}, generator).set_requires_grad(true);
}

// An f64 leaf that is NOT contiguous: the transpose of a [sizes reversed-last-two] tensor.
inline Tensor strided_leaf(const Shape& sizes, std::uint64_t seed) {
  Shape swapped = sizes;
  std::swap(swapped[swapped.size() - 1], swapped[swapped.size() - 2]);
  Generator generator(seed);
  Tensor base = randn(swapped, {.dtype = DType::f64}, generator);
  Tensor view = base.transpose(-1, -2).detach();
  view.set_requires_grad(true);
  return view;
}

// Every element of `actual` within `tolerance` of `expected` (relative to max(1, |expected|)).
inline void check_values(const Tensor& actual, const std::vector<double>& expected, double tolerance = 1e-6) {
  const std::vector<double> values = actual.to_vector<double>();
  REQUIRE(values.size() == expected.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    INFO("element " << i << ": " << values[i] << " vs expected " << expected[i]);
    CHECK(std::abs(values[i] - expected[i]) <= tolerance * std::max(1.0, std::abs(expected[i])));
  }
}

}  // namespace ember::testing
