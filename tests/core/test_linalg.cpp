// matmul and linear: against products computed by hand and an f64 triple loop.
#include <tuple>

#include "helpers.h"

using namespace ember;
using namespace ember::testing;

namespace {

// C = A @ B by the definition, in f64, for 2-D inputs.
std::vector<double> reference_matmul(const Tensor& a, const Tensor& b) {
  std::vector<double> out;
  for (std::int64_t i = 0; i < a.size(0); ++i)
    for (std::int64_t j = 0; j < b.size(1); ++j) {
      double total = 0;
      for (std::int64_t k = 0; k < a.size(1); ++k) total += a.at<double>({i, k}) * b.at<double>({k, j});
      out.push_back(total);
    }
  return out;
}

}  // namespace

TEST_CASE("2-D matmul by hand") {
  const Tensor a = from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3});
  const Tensor b = from_vector<float>({7, 8, 9, 10, 11, 12}, {3, 2});
  // [1 2 3] . [7 9 11] = 58, [1 2 3] . [8 10 12] = 64, ...
  check_values(matmul(a, b), {58, 64, 139, 154});
  check_values(matmul(from_vector<float>({1, 2, 3}), from_vector<float>({4, 5, 6})), {32});  // dot
  check_values(matmul(a, from_vector<float>({1, 1, 1})), {6, 15});                           // matrix-vector
  check_values(matmul(from_vector<float>({1, 1}), a), {5, 7, 9});                            // vector-matrix
}

TEST_CASE("matmul of every layout and dtype agrees with the f64 reference") {
  Generator generator(3);
  const Tensor a = randn({5, 7}, {.dtype = DType::f64}, generator);
  const Tensor b = randn({7, 4}, {.dtype = DType::f64}, generator);
  const std::vector<double> expected = reference_matmul(a, b);
  check_values(matmul(a, b), expected, 1e-12);
  check_values(matmul(a.t().contiguous().t(), b), expected, 1e-12);  // column-major A
  check_values(matmul(a, b.t().contiguous().t()), expected, 1e-12);  // column-major B
  check_values(matmul(a.slice(1, 0, 7), b.slice(0, 0, 7)), expected, 1e-12);
  const Tensor padded = zeros({5, 9}, {.dtype = DType::f64});
  padded.slice(1, 0, 7).copy_(a);
  check_values(matmul(padded.slice(1, 0, 7), b), expected, 1e-12);  // row stride 9, not 7
  check_values(matmul(a.to(DType::f32), b.to(DType::f32)), expected, 1e-5);
  check_values(matmul(a.to(DType::bf16), b.to(DType::bf16)), expected, 0.1);
}

TEST_CASE("the CPU's packed GEMM is right across its block edges, layouts, half types and empty depth") {
  // kernels/cpu/gemm.cpp cuts C into 8 x 32 register blocks (6 x 16 in the AVX2 and plain
  // x86-64 variants, which the suite's second run forces with EMBER_CPU_ISA=generic), A into
  // 96-row blocks, B into 1024-column blocks and the depth into slices of at most 256 (1024 for
  // bf16 on the dot-product instructions, summed across slices in f32 and rounded once): these
  // shapes end mid-block in every one of them. Reference: the same rounded inputs multiplied in f64 (Eigen's f64 GEMM, itself
  // checked against the triple loop above). f32 sums of k products in another order differ by
  // up to about 1e-5 sqrt(k) relative to max(1, |C|); f16/bf16 round the output once more.
  Generator generator(8);
  for (const auto& [m, n, k] : {std::tuple<std::int64_t, std::int64_t, std::int64_t>{197, 1100, 300},
                                {7, 33, 513}, {9, 40, 1100}, {1, 1, 1}, {100, 3, 1}, {64, 256, 784}}) {
    INFO(m << " x " << n << " x " << k);
    const Tensor a = randn({m, k}, {.dtype = DType::f64}, generator);
    const Tensor b = randn({n, k}, {.dtype = DType::f64}, generator).t();  // column-major B
    for (const DType dtype : {DType::f32, DType::f16, DType::bf16}) {
      INFO("dtype " << dtype);
      const Tensor a_low = a.to(dtype), b_low = b.to(dtype);
      const Tensor expected = matmul(a_low.to(DType::f64), b_low.to(DType::f64));
      const double bound = dtype == DType::f32   ? 1e-5 * std::sqrt(static_cast<double>(k))
                           : dtype == DType::f16 ? 1e-3
                                                 : 8e-3;
      CHECK(max_relative_error(matmul(a_low, b_low), expected) <= bound);
      CHECK(max_relative_error(matmul(a_low.t().contiguous().t(), b_low.contiguous()), expected) <= bound);
    }
  }
  // An empty depth gives zeros, whatever the memory held (as in PyTorch), also batched and in linear.
  check_values(matmul(zeros({3, 0}), zeros({0, 5})), std::vector<double>(15, 0.0), 0.0);
  check_values(matmul(zeros({2, 3, 0}), zeros({2, 0, 1})), std::vector<double>(6, 0.0), 0.0);
  check_values(linear(zeros({2, 0}), zeros({4, 0}), ones({4})), std::vector<double>(8, 1.0), 0.0);
}

TEST_CASE("batched matmul broadcasts batch dims") {
  Generator generator(4);
  const Tensor a = randn({2, 1, 3, 4}, {.dtype = DType::f64}, generator);
  const Tensor b = randn({3, 4, 2}, {.dtype = DType::f64}, generator);
  const Tensor c = matmul(a, b);
  CHECK(c.sizes() == Shape{2, 3, 3, 2});
  for (std::int64_t i = 0; i < 2; ++i)
    for (std::int64_t j = 0; j < 3; ++j) {
      check_values(c.select(0, i).select(0, j), reference_matmul(a.select(0, i).select(0, 0), b.select(0, j)), 1e-12);
    }
  const Tensor shared = randn({4, 2}, {.dtype = DType::f64}, generator);
  const Tensor d = matmul(a, shared);  // a batch against one matrix: folded into one GEMM
  check_values(d.select(0, 1).select(0, 0), reference_matmul(a.select(0, 1).select(0, 0), shared), 1e-12);
}

TEST_CASE("linear is x W^T + b") {
  const Tensor x = from_vector<float>({1, 2, 3, 4}, {2, 2});
  const Tensor w = from_vector<float>({1, 0, 0, 1, 1, 1}, {3, 2});
  const Tensor b = from_vector<float>({0.5, -1, 2});
  check_values(linear(x, w, b), {1.5, 1, 5, 3.5, 3, 9});
  check_values(linear(x, w), {1, 2, 3, 3, 4, 7});
  CHECK(linear(zeros({4, 5, 2}), w, b).sizes() == Shape{4, 5, 3});
}

TEST_CASE("matmul and linear errors name the shapes") {
  CHECK(error_of([] { matmul(zeros({64, 784}), zeros({256, 128})); }) ==
        "matmul: shapes [64, 784] and [256, 128] cannot be multiplied (784 vs 256)");
  CHECK(contains(error_of([] { matmul(zeros({2, 2}), zeros({2, 2}, {.dtype = DType::f64})); }),
                 "matmul: dtypes do not match: [2, 2] f32 cpu and [2, 2] f64 cpu"));
  CHECK(contains(error_of([] { linear(zeros({8, 5}), zeros({3, 4})); }),
                 "linear: input of shape [8, 5] cannot be multiplied by weight of shape [3, 4]"));
  CHECK(contains(error_of([] { linear(zeros({8, 4}), zeros({3, 4}), zeros({4})); }), "bias of shape [4]"));
  CHECK(contains(error_of([] { matmul(zeros({2, 3}, {.dtype = DType::i64}), zeros({3, 2}, {.dtype = DType::i64})); }),
                 "matmul: expected a floating tensor"));
}

TEST_CASE("gradcheck: matmul and linear with strided and batched inputs") {
  CHECK(gradcheck([](const Inputs& in) { return matmul(in[0], in[1]); }, {leaf({3, 4}, 1), strided_leaf({4, 2}, 2)}));
  CHECK(gradcheck([](const Inputs& in) { return matmul(in[0], in[1]); }, {strided_leaf({2, 3, 4}, 3), leaf({1, 4, 2}, 4)}));
  CHECK(gradcheck([](const Inputs& in) { return matmul(in[0], in[1]); }, {leaf({4}, 5), leaf({4, 3}, 6)}));
  CHECK(gradcheck([](const Inputs& in) { return matmul(in[0], in[1]); }, {leaf({2, 3, 4}, 7), leaf({4, 5}, 8)}));
  CHECK(gradcheck([](const Inputs& in) { return linear(in[0], in[1], in[2]); },
                  {strided_leaf({3, 4}, 9), leaf({2, 4}, 10), leaf({2}, 11)}));
  CHECK(gradcheck([](const Inputs& in) { return linear(in[0], in[1]); }, {leaf({2, 3, 4}, 12), strided_leaf({5, 4}, 13)}));
}
