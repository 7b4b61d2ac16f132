// adaptive_avg_pool2d and interpolate (nearest, bilinear): values by hand, identities, gradients.
#include "helpers.h"

using namespace ember;
using namespace ember::testing;

TEST_CASE("adaptive_avg_pool2d by hand: 5 columns into 3 overlapping windows") {
  const Tensor x = arange(0, 5, 1, {.dtype = DType::f32}).view({1, 1, 1, 5});
  // Windows [floor(5 o / 3), ceil(5 (o + 1) / 3)): [0, 2), [1, 4), [3, 5).
  check_values(adaptive_avg_pool2d(x, {1, 3}), {0.5, 2.0, 3.5});
  // {1, 1} is the global mean of each plane.
  check_values(adaptive_avg_pool2d(arange(0, 8, 1, {.dtype = DType::f32}).view({1, 2, 2, 2}), {1, 1}), {1.5, 5.5});
}

TEST_CASE("adaptive_avg_pool2d equals avg_pool2d when the size divides evenly") {
  const Tensor x = leaf({2, 3, 6, 4}, 31).detach();
  check_values(adaptive_avg_pool2d(x, {3, 2}), avg_pool2d(x, {.kernel = {2, 2}}).to_vector<double>(), 1e-12);
}

TEST_CASE("nearest interpolation by hand") {
  const Tensor x = from_vector<float>({1, 2, 3, 4}, {1, 1, 2, 2});
  check_values(interpolate(x, {.scale_factor = {2, 2}}),
               {1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4});
  // Size 3 from 2: source floor(o 2 / 3) = 0, 0, 1.
  check_values(interpolate(x, {.size = {1, 3}}), {1, 1, 2});
}

TEST_CASE("bilinear interpolation by hand with and without align_corners") {
  const Tensor x = from_vector<float>({0, 4}, {1, 1, 1, 2});
  // align_corners: source o (2 - 1) / (4 - 1) = 0, 1/3, 2/3, 1 -> 0, 4/3, 8/3, 4.
  check_values(interpolate(x, {.size = {1, 4}, .mode = InterpolateMode::bilinear, .align_corners = true}),
               {0, 4.0 / 3, 8.0 / 3, 4});
  // Half-pixel: source (o + 0.5) / 2 - 0.5 = -0.25 (clamped to 0), 0.25, 0.75, 1.25 (past the
  // last pixel: stays 4) -> 0, 1, 3, 4. These are PyTorch's values.
  check_values(interpolate(x, {.size = {1, 4}, .mode = InterpolateMode::bilinear}), {0, 1, 3, 4});
}

TEST_CASE("bilinear with align_corners reproduces a plane a x + b y + c exactly") {
  // Linear interpolation is exact on linear functions: any output equals the plane at its source.
  Tensor plane = empty({1, 1, 3, 4}, {.dtype = DType::f64});
  for (std::int64_t y = 0; y < 3; ++y)
    for (std::int64_t x = 0; x < 4; ++x) plane.select(2, y).select(2, x).fill_(2.0 * x - 3.0 * y + 1.0);
  const Tensor out = interpolate(plane, {.size = {5, 7}, .mode = InterpolateMode::bilinear, .align_corners = true});
  std::vector<double> expected;
  for (int y = 0; y < 5; ++y)
    for (int x = 0; x < 7; ++x) expected.push_back(2.0 * (x * 3.0 / 6) - 3.0 * (y * 2.0 / 4) + 1.0);
  check_values(out, expected, 1e-12);
}

TEST_CASE("resampling errors") {
  CHECK(contains(error_of([] { interpolate(zeros({1, 1, 2, 2}), {}); }), "give either size or scale_factor, not neither"));
  CHECK(contains(error_of([] { interpolate(zeros({1, 1, 2, 2}), {.size = {2, 2}, .scale_factor = {2, 2}}); }),
                 "not both"));
  CHECK(contains(error_of([] { interpolate(zeros({1, 1, 2, 2}), {.size = {2, 2}, .align_corners = true}); }),
                 "align_corners only applies to bilinear"));
  CHECK(contains(error_of([] { interpolate(zeros({1, 1, 2, 2}), {.scale_factor = {0.2, 1}}); }),
                 "would give an output of size 0 along dim 2"));
  CHECK(contains(error_of([] { adaptive_avg_pool2d(zeros({2, 2}), {1, 1}); }), "expected input [N, C, H, W]"));
}

TEST_CASE("gradcheck: adaptive pooling and both interpolation modes") {
  const Tensor x = leaf({1, 2, 5, 4}, 32);
  CHECK(gradcheck([](const Inputs& in) { return adaptive_avg_pool2d(in[0], {3, 3}); }, {x}));
  CHECK(gradcheck([](const Inputs& in) { return interpolate(in[0], {.size = {7, 3}}); }, {x}));
  CHECK(gradcheck([](const Inputs& in) {
          return interpolate(in[0], {.scale_factor = {1.5, 2}, .mode = InterpolateMode::bilinear});
        }, {x}));
  CHECK(gradcheck([](const Inputs& in) {
          return interpolate(in[0], {.size = {3, 6}, .mode = InterpolateMode::bilinear, .align_corners = true});
        }, {x}));
}
