#pragma once
// The op table: every op of core/ops registered once, with how to make its inputs, how to call
// it and how closely its results must agree, in the spirit of ggml's test-backend-ops. One test
// program (test_op_table.cpp) runs every case on every device and dtype; `--perf` times them
// (op_perf.cpp). Adding an op to core/ops means adding its case here: the coverage test fails
// for a declared op with no case.
#include <functional>
#include <string>
#include <vector>

#include "core/cuda.h"
#include "core/ember.h"

namespace ember::op_table {

// How an input's values are drawn (from the case's seed, in f64, then rounded to the dtype).
enum class Values {
  normal,           // N(0, 1)
  positive,         // uniform in [0.5, 2): log, sqrt, pow bases, divisors
  away_from_kinks,  // |x| in [0.25, 2) with random sign: relu, abs, max/min without near-ties
  index,            // i64 in [0, range): labels, gather and index_select indices
  ascending,        // distinct values (0..n-1 shuffled, scaled into [-0.5, 0.5)): max, min, argmax without ties
};

struct Input {
  Shape shape;
  Values values = Values::normal;
  std::int64_t range = 0;     // Values::index: values in [0, range)
  bool requires_grad = true;  // floating inputs only; off for constants (class weights, running stats)
  bool transposed = false;    // passed as the transpose of a contiguous [.., W, H] tensor: a strided operand
};

struct OpCase {
  std::string op;     // the core/ops function this case covers (the coverage test matches it)
  std::string label;  // what the case checks beyond the op's name
  std::vector<Input> inputs;
  std::function<Tensor(const std::vector<Tensor>&)> run;
  bool differentiable = true;  // gradcheck in f64 and backward compared on every device
  bool half_precision = true;  // also run in f16 and bf16
  bool in_place = false;       // run writes into its inputs (no autograd) and returns what to compare
  bool needs_gpu = false;      // meaningful only where CUDA is (pinned memory): skipped without a GPU
  // --perf: inputs at a size worth timing (empty: not timed), and the FLOPs of one call at those
  // sizes (null: a bandwidth-bound op, judged by the bytes it moves).
  std::vector<Input> perf_inputs = {};
  std::function<double(const std::vector<Tensor>&)> flops = nullptr;
};

// Every case, in the order the families register them.
const std::vector<OpCase>& op_cases();

// The families (one file each, cases_<family>.cpp).
std::vector<OpCase> elementwise_cases();
std::vector<OpCase> reduction_cases();
std::vector<OpCase> shape_cases();    // views, joins, indexing, copies
std::vector<OpCase> network_cases();  // linalg, conv, pooling, resampling, normalization, softmax
std::vector<OpCase> factory_and_optimizer_cases();

// The inputs of a case in `dtype` on `device` (index inputs stay i64), drawn from `seed`: the
// same values on every device; floating inputs that require grad are leaves with requires_grad.
std::vector<Tensor> make_inputs(const std::vector<Input>& inputs, DType dtype, Device device, std::uint64_t seed);

// The agreement a dtype is held to: |got - want| <= tolerance * max(1, |want|), want in f64.
double tolerance_for(DType dtype);

}  // namespace ember::op_table
