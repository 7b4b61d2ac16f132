// Views share storage; their gradients route back to the right elements.
#include "helpers.h"

using namespace ember;
using namespace ember::testing;

TEST_CASE("views share storage with their base") {
  Tensor base = arange(0, 12, 1, {.dtype = DType::f32});
  Tensor m = base.view({3, 4});
  CHECK(m.storage() == base.storage());
  m.select(0, 1).fill_(-1);  // row 1 is elements 4..7 of the base
  check_values(base, {0, 1, 2, 3, -1, -1, -1, -1, 8, 9, 10, 11});
  CHECK(base.version() == 1);  // the write through the view bumped the shared counter
}

TEST_CASE("permute transpose slice select and expand give the expected strides and values") {
  const Tensor m = arange(0, 6, 1, {.dtype = DType::f32}).view({2, 3});  // [[0,1,2],[3,4,5]]
  const Tensor t = m.t();
  CHECK(t.sizes() == Shape{3, 2});
  CHECK(t.strides() == Shape{1, 3});
  CHECK_FALSE(t.is_contiguous());
  check_values(t, {0, 3, 1, 4, 2, 5});
  check_values(m.slice(1, 0, 3, 2), {0, 2, 3, 5});
  check_values(m.slice(1, -2, 100), {1, 2, 4, 5});  // Python-style bounds
  check_values(m.select(1, -1), {2, 5});
  const Tensor e = from_vector<float>({1, 2}, {2, 1}).expand({2, 3});
  CHECK(e.strides() == Shape{1, 0});
  check_values(e, {1, 1, 1, 2, 2, 2});
  check_values(m.permute({1, 0}).contiguous(), {0, 3, 1, 4, 2, 5});
  CHECK(m.unsqueeze(1).sizes() == Shape{2, 1, 3});
  CHECK(m.unsqueeze(-1).sizes() == Shape{2, 3, 1});
  CHECK(m.unsqueeze(0).squeeze().sizes() == Shape{2, 3});
  CHECK(zeros({2, 1, 3}).squeeze(1).sizes() == Shape{2, 3});
  CHECK(zeros({2, 3, 4, 5}).flatten(1, 2).sizes() == Shape{2, 12, 5});
  CHECK(m.view({-1}).sizes() == Shape{6});
}

TEST_CASE("view refuses what needs a copy - reshape copies instead") {
  const Tensor t = zeros({3, 4}).t();  // [4, 3] with strides [1, 4]
  const std::string message = error_of([&] { t.view({12}); });
  CHECK(contains(message, "view: shape [12] is not compatible with input of shape [4, 3]"));
  const Tensor r = t.reshape({12});
  CHECK(r.is_contiguous());
  CHECK(r.storage() != t.storage());
  // Splitting a dim of a non-contiguous tensor is still a view.
  CHECK(zeros({4, 6}).t().view({2, 3, 4}).sizes() == Shape{2, 3, 4});
  CHECK(contains(error_of([] { zeros({2, 3}).view({4, -1}); }), "invalid for input of shape [2, 3]"));
  CHECK(contains(error_of([] { zeros({2, 3}).expand({3, 3}); }), "cannot be expanded to [3, 3]"));
  CHECK(contains(error_of([] { zeros({2, 3}).permute({0, 0}); }), "repeats"));
  CHECK(contains(error_of([] { zeros({2, 3}).select(1, 3); }), "index 3 is out of range for dim 1 of size 3"));
  CHECK(contains(error_of([] { zeros({2, 3}).transpose(0, 2); }), "dim 2 is out of range"));
}

TEST_CASE("gradcheck: every view op on contiguous and strided inputs") {
  using Inputs = std::vector<Tensor>;
  CHECK(gradcheck([](const Inputs& in) { return in[0].view({2, 6}) * 1.0; }, {leaf({3, 4}, 1)}));
  for (const Tensor& x : {leaf({3, 4}, 1), strided_leaf({3, 4}, 2)}) {
    CHECK(gradcheck([](const Inputs& in) { return in[0].reshape({4, 3}) * 2.0; }, {x}));
    CHECK(gradcheck([](const Inputs& in) { return in[0].permute({1, 0}) * 1.0; }, {x}));
    CHECK(gradcheck([](const Inputs& in) { return in[0].slice(1, 1, 4, 2) * 1.0; }, {x}));
    CHECK(gradcheck([](const Inputs& in) { return in[0].select(0, 2) * 1.0; }, {x}));
    CHECK(gradcheck([](const Inputs& in) { return in[0].unsqueeze(1).expand({3, 2, 4}) * 1.0; }, {x}));
    CHECK(gradcheck([](const Inputs& in) { return in[0].unsqueeze(0).squeeze(0).flatten() * 1.0; }, {x}));
  }
}
