// Initializers: bounds and variances from their formulas.
#include <cmath>

#include "helpers.h"
#include "nn/init.h"

using namespace ember;
using namespace ember::testing;
using nn::init::FanMode;

namespace {

// A [200, 100, 3, 3] weight: fan_in = 900, fan_out = 1800, 180,000 samples (variance within ~1%).
Tensor weight() { return empty({200, 100, 3, 3}, {.dtype = DType::f64}); }

double variance(const Tensor& t) { return var(t, {}).item<double>(); }

}  // namespace

TEST_CASE("fans follow torch's convention") {
  const auto [fan_in, fan_out] = nn::init::fan_in_and_out(weight());
  CHECK(fan_in == 900);
  CHECK(fan_out == 1800);
  CHECK(contains(error_of([] { nn::init::fan_in_and_out(zeros({3})); }), "at least 2 dims"));
}

TEST_CASE("kaiming and xavier initializers have the variances of their formulas") {
  Generator generator(8);
  Tensor w = weight();
  nn::init::kaiming_normal_(w, 0.0, FanMode::fan_in, generator);  // var = 2 / 900
  CHECK(variance(w) == doctest::Approx(2.0 / 900).epsilon(0.02));
  nn::init::kaiming_uniform_(w, 0.0, FanMode::fan_out, generator);  // var = 2 / 1800, bound sqrt(6 / 1800)
  CHECK(variance(w) == doctest::Approx(2.0 / 1800).epsilon(0.02));
  CHECK(max(abs(w)).item<double>() <= std::sqrt(6.0 / 1800));
  nn::init::xavier_uniform_(w, 1.0, generator);  // bound sqrt(6 / 2700), var 2 / 2700
  CHECK(max(abs(w)).item<double>() <= std::sqrt(6.0 / 2700));
  CHECK(variance(w) == doctest::Approx(2.0 / 2700).epsilon(0.02));
  nn::init::xavier_normal_(w, 2.0, generator);  // var = 4 * 2 / 2700
  CHECK(variance(w) == doctest::Approx(8.0 / 2700).epsilon(0.02));
  nn::init::normal_(w, 3.0, 0.5, generator);
  CHECK(mean(w).item<double>() == doctest::Approx(3.0).epsilon(0.001));
}
