// Philox 4x32-10 and the random factories built on it.
#include "helpers.h"
#include "kernels/philox.h"

using namespace ember;

TEST_CASE("philox4x32_10 matches the Random123 known-answer vectors") {
  // From the Random123 distribution's kat_vectors: counter 0, key 0 ...
  const kernels::PhiloxBlock zero = kernels::philox4x32_10(0, 0);
  CHECK(zero.word[0] == 0x6627e8d5u);
  CHECK(zero.word[1] == 0xe169c58du);
  CHECK(zero.word[2] == 0xbc57ac4cu);
  CHECK(zero.word[3] == 0x9b00dbd8u);
}

TEST_CASE("the same seed gives the same draws - the generator state resumes a stream") {
  Generator a(42), b(42);
  CHECK(rand({100}, {}, a).to_vector<float>() == rand({100}, {}, b).to_vector<float>());
  // Saving (seed, offset) and restoring it replays the next draw exactly.
  const auto seed = a.seed();
  const auto offset = a.offset();
  const std::vector<float> next = randn({7}, {}, a).to_vector<float>();
  Generator c;
  c.set_state(seed, offset);
  CHECK(randn({7}, {}, c).to_vector<float>() == next);
  // Element i does not depend on how many elements are drawn with it (counter-based).
  Generator d(5), e(5);
  CHECK(rand({3}, {}, d).to_vector<float>()[2] == rand({1000}, {}, e).to_vector<float>()[2]);
}

TEST_CASE("rand and randn have the moments of U(0 1) and N(0 1)") {
  Generator generator(7);
  const Tensor u = rand({200000}, {.dtype = DType::f64}, generator);
  // Mean 1/2 and variance 1/12; with 2e5 samples the standard error of the mean is ~6e-4.
  CHECK(mean(u).item<double>() == doctest::Approx(0.5).epsilon(0.005));
  CHECK(var(u, {}).item<double>() == doctest::Approx(1.0 / 12).epsilon(0.01));
  CHECK(min(u).item<double>() >= 0);
  CHECK(max(u).item<double>() < 1);
  const Tensor z = randn({200000}, {.dtype = DType::f64}, generator);
  CHECK(std::abs(mean(z).item<double>()) < 0.01);
  CHECK(var(z, {}).item<double>() == doctest::Approx(1.0).epsilon(0.02));
}

TEST_CASE("randperm is a permutation and depends on the seed") {
  Generator a(1), b(2);
  std::vector<std::int64_t> p = randperm(1000, a).to_vector<std::int64_t>();
  const std::vector<std::int64_t> q = randperm(1000, b).to_vector<std::int64_t>();
  CHECK(p != q);
  std::sort(p.begin(), p.end());
  for (std::int64_t i = 0; i < 1000; ++i) CHECK(p[static_cast<std::size_t>(i)] == i);
}
