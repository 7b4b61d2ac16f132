// Image transforms.
#include "data/data_loader.h"
#include "data/transforms.h"
#include "helpers.h"

using namespace ember;
using namespace ember::testing;

TEST_CASE("normalize subtracts the channel mean and divides by the channel std") {
  const Tensor image = cat({full({1, 1, 2}, 3), full({1, 1, 2}, 10)}, 0);  // channels of 3s and 10s
  Generator generator;
  check_values(data::normalize({1, 4}, {2, 3})(image, generator), {1, 1, 2, 2});
  CHECK(contains(error_of([&] { data::normalize({1}, {2})(image, generator); }), "image has 2 channels"));
}

TEST_CASE("random_crop with padding keeps the size and takes a shifted window") {
  const Tensor image = arange(1, 10, 1, {.dtype = DType::f32}).view({1, 3, 3});
  for (std::int64_t i = 0; i < 20; ++i) {
    Generator generator = data::example_generator(5, 0, i);
    const Tensor crop = data::random_crop(3, 3, 1)(image, generator);
    CHECK(crop.sizes() == Shape{1, 3, 3});
    // A shift by at most one pixel keeps the centre pixel 5 somewhere in the window.
    const auto values = crop.to_vector<float>();
    CHECK(std::count(values.begin(), values.end(), 5.0f) == 1);
  }
}

TEST_CASE("random_horizontal_flip mirrors columns: p = 1 always and p = 0 never") {
  const Tensor image = arange(0, 6, 1, {.dtype = DType::f32}).view({1, 2, 3});
  Generator generator;
  check_values(data::random_horizontal_flip(1.0)(image, generator), {2, 1, 0, 5, 4, 3});
  check_values(data::random_horizontal_flip(0.0)(image, generator), {0, 1, 2, 3, 4, 5});
}

TEST_CASE("example generators differ by example and epoch and repeat for the same triple") {
  Generator a = data::example_generator(1, 0, 7), b = data::example_generator(1, 0, 7);
  Generator c = data::example_generator(1, 0, 8), d = data::example_generator(1, 1, 7);
  const float first = a.next_uniform();
  CHECK(first == b.next_uniform());
  CHECK(first != c.next_uniform());
  CHECK(first != d.next_uniform());
}
