// Views, joins, indexing and copies (core/ops/view.h, join.h, indexing.h, copy.h). Every view
// case ends in a computation (x * 1 over a contiguous copy) so backward runs through the view.
#include "op_table/op_table.h"

namespace ember::op_table {

namespace {
using Args = const std::vector<Tensor>&;
}  // namespace

std::vector<OpCase> shape_cases() {
  const std::vector<Input> x345 = {{.shape = {3, 4, 5}}};
  return {
      {.op = "view", .label = "regroup dims", .inputs = x345,
       .run = [](Args x) { return view(x[0], {12, 5}) * 2.0; }},
      {.op = "reshape", .label = "of a strided input (copies)", .inputs = {{.shape = {3, 4}, .transposed = true}},
       .run = [](Args x) { return reshape(x[0], {-1}) * 2.0; }},
      {.op = "permute", .label = "all dims", .inputs = x345,
       .run = [](Args x) { return contiguous(permute(x[0], {2, 0, 1})) * 2.0; }},
      {.op = "transpose", .label = "outer dims", .inputs = x345,
       .run = [](Args x) { return contiguous(transpose(x[0], 0, 2)) * 2.0; }},
      {.op = "slice", .label = "stepped, negative start", .inputs = x345,
       .run = [](Args x) { return contiguous(slice(x[0], 2, -4, 5, 2)) * 2.0; }},
      {.op = "select", .label = "a middle index", .inputs = x345,
       .run = [](Args x) { return contiguous(select(x[0], 1, 2)) * 2.0; }},
      {.op = "expand", .label = "a size-1 dim and a new leading dim", .inputs = {{.shape = {3, 1}}},
       .run = [](Args x) { return contiguous(expand(x[0], {2, 3, 4})) * 2.0; }},
      {.op = "squeeze", .label = "all and one dim", .inputs = {{.shape = {1, 3, 1, 2}}},
       .run = [](Args x) { return squeeze(x[0]) * 2.0 + squeeze(x[0], 0).sum({0, 1}); }},
      {.op = "unsqueeze", .label = "a new last dim", .inputs = {{.shape = {3, 2}}},
       .run = [](Args x) { return unsqueeze(x[0], -1) * 2.0; }},
      {.op = "flatten", .label = "inner dims", .inputs = x345,
       .run = [](Args x) { return flatten(x[0], 1) * 2.0; }},
      {.op = "cat", .label = "along dim 1 with a strided part", .inputs = {{.shape = {3, 2}}, {.shape = {3, 4}, .transposed = true}},
       .run = [](Args x) { return cat({x[0], x[1]}, 1); },
       .perf_inputs = {{.shape = {2048, 2048}}, {.shape = {2048, 2048}}}},
      {.op = "pad", .label = "the last two dims of a strided input, every mode",
       .inputs = {{.shape = {2, 3, 4}, .transposed = true}},
       .run = [](Args x) {
         std::vector<Tensor> padded;
         for (PadMode mode : {PadMode::constant, PadMode::reflect, PadMode::replicate, PadMode::circular}) {
           padded.push_back(pad(x[0], {2, 1, 1, 2}, mode).flatten());
         }
         return cat(padded);
       }},
      {.op = "stack", .label = "a new middle dim", .inputs = {{.shape = {3, 2}}, {.shape = {3, 2}}},
       .run = [](Args x) { return stack({x[0], x[1]}, 1); }},
      {.op = "index_select", .label = "repeated indices (gradients add)",
       .inputs = {{.shape = {5, 3}}, {.shape = {7}, .values = Values::index, .range = 5}},
       .run = [](Args x) { return index_select(x[0], 0, x[1]); },
       .perf_inputs = {{.shape = {1 << 16, 256}}, {.shape = {1 << 14}, .values = Values::index, .range = 1 << 16}}},
      {.op = "gather", .label = "along dim 1",
       .inputs = {{.shape = {4, 6}}, {.shape = {4, 3}, .values = Values::index, .range = 6}},
       .run = [](Args x) { return gather(x[0], 1, x[1]); }},
      {.op = "scatter_add", .label = "colliding indices along dim 0",
       .inputs = {{.shape = {3, 4}}, {.shape = {5, 4}, .values = Values::index, .range = 3}, {.shape = {5, 4}}},
       .run = [](Args x) { return scatter_add(x[0], 0, x[1], x[2]); }},
      // (A padding row that is looked up has no gradient by design, not a derivative gradcheck would
      // accept: tests/nn/test_layers.cpp tests that. Here row 5 is the padding and is never read.)
      {.op = "embedding", .label = "rows for a 2-D index with repeats, with and without a padding row",
       .inputs = {{.shape = {6, 4}}, {.shape = {3, 5}, .values = Values::index, .range = 5}},
       .run = [](Args x) { return cat({embedding(x[0], x[1]).flatten(), embedding(x[0], x[1], 5).flatten()}); }},
      {.op = "scatter", .label = "along dim 0, distinct positions in each column",
       .inputs = {{.shape = {3, 4}}, {.shape = {2, 4}}},
       .run = [](Args x) {
         const Tensor index = to(from_vector<std::int64_t>({2, 0, 1, 2, 0, 1, 2, 1}, {2, 4}), x[0].device());
         return scatter(x[0], 0, index, x[1]);
       }},
      {.op = "clone", .label = "of a strided input", .inputs = {{.shape = {3, 4}, .transposed = true}},
       .run = [](Args x) { return clone(x[0]); }, .perf_inputs = {{.shape = {1 << 24}}}},
      {.op = "contiguous", .label = "of a transpose", .inputs = {{.shape = {64, 48}, .transposed = true}},
       .run = [](Args x) { return contiguous(x[0]); }, .perf_inputs = {{.shape = {4096, 4096}, .transposed = true}}},
      {.op = "to", .label = "to f64 and back, and to its own device", .inputs = {{.shape = {3, 4}}},
       .run = [](Args x) { return to(to(to(x[0], DType::f64), x[0].dtype()), x[0].device()) * 2.0; }},
      {.op = "pin_memory", .label = "a round trip through pinned memory", .inputs = {{.shape = {3, 4}}},
       .run = [](Args x) { return pin_memory(x[0].detach().to(Device::cpu())).to(x[0].device()); },
       .differentiable = false, .needs_gpu = true},
      {.op = "copy_", .label = "a broadcast source of another dtype", .inputs = {{.shape = {3, 4}, .requires_grad = false}, {.shape = {4}, .requires_grad = false}},
       .run = [](Args x) { return copy_(x[0], x[1].to(DType::f64)); }, .differentiable = false, .in_place = true},
      {.op = "fill_", .label = "a strided view", .inputs = {{.shape = {3, 4}, .requires_grad = false}},
       .run = [](Args x) {
         fill_(x[0].t().select(0, 1), 0.25);  // column 1 of x[0]
         return x[0];
       },
       .differentiable = false, .in_place = true},
      {.op = "zero_", .label = "a slice", .inputs = {{.shape = {3, 4}, .requires_grad = false}},
       .run = [](Args x) {
         zero_(slice(x[0], 0, 1, 3));
         return x[0];
       },
       .differentiable = false, .in_place = true},
      {.op = "set_data", .label = "to another tensor's memory", .inputs = {{.shape = {3, 4}, .requires_grad = false}, {.shape = {3, 4}, .requires_grad = false}},
       .run = [](Args x) {
         set_data(x[0], x[1] * 3.0);
         return x[0];
       },
       .differentiable = false, .in_place = true},
  };
}

}  // namespace ember::op_table
