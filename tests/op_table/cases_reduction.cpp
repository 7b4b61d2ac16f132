// The reduction family (core/ops/reduction.h): over everything, over chosen dims, keepdim.
#include "op_table/op_table.h"

namespace ember::op_table {

namespace {
using Args = const std::vector<Tensor>&;
}  // namespace

std::vector<OpCase> reduction_cases() {
  // max / min / arg* get distinct values: at a tie the gradient's first position is a choice
  // that finite differences cannot check.
  const std::vector<Input> distinct = {{.shape = {4, 5}, .values = Values::ascending}};
  const std::vector<Input> strided = {{.shape = {3, 4, 5}, .transposed = true}};
  const std::vector<Input> big = {{.shape = {256, 256, 256}}};  // 64 MiB in f32
  return {
      {.op = "sum", .label = "over every element", .inputs = strided,
       .run = [](Args x) { return sum(x[0]); }, .perf_inputs = big},
      {.op = "sum", .label = "over dims {0, 2}, and keepdim, of a strided input", .inputs = strided,
       .run = [](Args x) { return cat({sum(x[0], {0, 2}), sum(x[0], {1}, true).flatten()}); }},
      {.op = "mean", .label = "over the last dim", .inputs = strided,
       .run = [](Args x) { return mean(x[0], {-1}); }, .perf_inputs = big},
      {.op = "mean", .label = "over every element", .inputs = strided,
       .run = [](Args x) { return mean(x[0]); }},
      {.op = "var", .label = "Bessel-corrected and biased", .inputs = strided,
       .run = [](Args x) { return cat({var(x[0], {1}).flatten(), var(x[0], {0, 1}, 0).flatten()}); }},
      {.op = "max", .label = "along dim 1", .inputs = distinct,
       .run = [](Args x) { return max(x[0], 1); }, .perf_inputs = {{.shape = {4096, 4096}, .values = Values::ascending}}},
      {.op = "max", .label = "overall", .inputs = distinct, .run = [](Args x) { return max(x[0]); }},
      {.op = "min", .label = "overall and along dim 0 with keepdim", .inputs = distinct,
       .run = [](Args x) { return cat({min(x[0]).reshape({1}), min(x[0], 0, true).flatten()}); }},
      {.op = "argmax", .label = "flattened and along dim 1", .inputs = distinct,
       .run = [](Args x) { return cat({argmax(x[0]).reshape({1}), argmax(x[0], 1)}); }, .differentiable = false},
      {.op = "argmin", .label = "flattened and along dim 0", .inputs = distinct,
       .run = [](Args x) { return cat({argmin(x[0]).reshape({1}), argmin(x[0], 0)}); }, .differentiable = false},
  };
}

}  // namespace ember::op_table
