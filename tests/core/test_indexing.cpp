// index_select, gather, scatter and scatter_add.
#include "helpers.h"

using namespace ember;
using namespace ember::testing;

TEST_CASE("index_select picks rows or columns with repeats allowed") {
  const Tensor m = from_vector<float>({1, 2, 3, 4, 5, 6}, {3, 2});
  check_values(index_select(m, 0, from_vector<std::int64_t>({2, 0, 2})), {5, 6, 1, 2, 5, 6});
  check_values(index_select(m, 1, from_vector<std::int64_t>({1})), {2, 4, 6});
  check_values(index_select(m.t(), 0, from_vector<std::int64_t>({1})), {2, 4, 6});  // strided input
}

TEST_CASE("gather and scatter_add are each other's adjoint") {
  const Tensor m = from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3});
  const Tensor index = from_vector<std::int64_t>({2, 0, 1, 1}, {2, 2});
  // out[i][j] = m[i][index[i][j]]: row 0 takes m[0][2], m[0][0]; row 1 takes m[1][1] twice.
  check_values(gather(m, 1, index), {3, 1, 5, 5});
  const Tensor added = scatter_add(zeros({2, 3}), 1, index, ones({2, 2}));
  check_values(added, {1, 0, 1, 0, 2, 0});  // repeated indices add up
}

TEST_CASE("scatter writes each source at its index and keeps self elsewhere") {
  const Tensor self = from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3});
  const Tensor index = from_vector<std::int64_t>({2, 0, 1, 2}, {2, 2});
  // Row 0: 7 goes to column 2, 8 to column 0; row 1: 9 to column 1, 10 to column 2.
  check_values(scatter(self, 1, index, from_vector<float>({7, 8, 9, 10}, {2, 2})), {8, 2, 7, 4, 9, 10});
  CHECK(contains(error_of([&] { scatter(self, 1, full({2, 2}, 3, {.dtype = DType::i64}), ones({2, 2})); }),
                 "scatter: index 3 is out of range for dim 1 of size 3"));
}

TEST_CASE("index errors name the op and the index and the shapes") {
  const Tensor m = zeros({3, 2});
  CHECK(contains(error_of([&] { index_select(m, 0, from_vector<std::int64_t>({3})); }),
                 "index_select: index 3 is out of range for dim 0 of size 3 (input [3, 2] f32 cpu)"));
  CHECK(contains(error_of([&] { index_select(m, 0, from_vector<std::int32_t>({0})); }),
                 "index must be an i64 tensor, got [1] i32 cpu"));
  CHECK(contains(error_of([&] { gather(m, 1, zeros({2, 2}, {.dtype = DType::i64})); }),
                 "gather: index of shape [2, 2] must match input of shape [3, 2] in every dim but 1"));
  CHECK(contains(error_of([&] { gather(m, 1, full({3, 1}, -1, {.dtype = DType::i64})); }), "index -1 is out of range"));
}

TEST_CASE("gradcheck: index ops") {
  const Tensor x = strided_leaf({3, 4}, 41);
  CHECK(gradcheck([](const Inputs& in) { return index_select(in[0], 0, from_vector<std::int64_t>({2, 0, 2})); }, {x}));
  CHECK(gradcheck([](const Inputs& in) { return index_select(in[0], 1, from_vector<std::int64_t>({3, 1})); }, {x}));
  const Tensor index = from_vector<std::int64_t>({0, 3, 3, 1, 2, 2}, {3, 2});
  CHECK(gradcheck([&](const Inputs& in) { return gather(in[0], 1, index); }, {x}));
  CHECK(gradcheck([&](const Inputs& in) { return scatter_add(in[0], 1, index, in[1]); }, {x, leaf({3, 2}, 42)}));
  // Without repeats in a row (a repeated index writes one source, whose gradient is then not a
  // derivative of the output).
  const Tensor distinct = from_vector<std::int64_t>({0, 3, 1, 2, 2, 0}, {3, 2});
  CHECK(gradcheck([&](const Inputs& in) { return scatter(in[0], 1, distinct, in[1]); }, {x, leaf({3, 2}, 43)}));
}
