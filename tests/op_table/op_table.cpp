#include "op_table/op_table.h"

#include <numeric>

namespace ember::op_table {

const std::vector<OpCase>& op_cases() {
  static const std::vector<OpCase> cases = [] {
    std::vector<OpCase> all;
    for (auto family : {elementwise_cases, reduction_cases, shape_cases, network_cases, factory_and_optimizer_cases}) {
      for (OpCase& c : family()) all.push_back(std::move(c));
    }
    return all;
  }();
  return cases;
}

namespace {

// The f64 values of one input, on the CPU.
Tensor draw(const Input& input, Generator& generator) {
  const TensorOptions f64{.dtype = DType::f64};
  switch (input.values) {
    case Values::normal: return randn(input.shape, f64, generator);
    case Values::positive: return uniform(input.shape, 0.5, 2.0, f64, generator);
    case Values::away_from_kinks: {
      const Tensor magnitude = uniform(input.shape, 0.25, 2.0, f64, generator);
      const Tensor sign = where(lt(rand(input.shape, f64, generator), 0.5), -1.0 * ones_like(magnitude),
                                ones_like(magnitude));
      return magnitude * sign;
    }
    case Values::index: {
      const Tensor u = rand(input.shape, f64, generator);
      return clamp(u * static_cast<double>(input.range), 0.0, static_cast<double>(input.range) - 0.5)
          .to(DType::i64);
    }
    case Values::ascending: {
      // A random permutation of 0..n-1, scaled: distinct values at least 1/n apart.
      const std::int64_t n = std::accumulate(input.shape.begin(), input.shape.end(), std::int64_t{1},
                                             std::multiplies<>());
      return (randperm(n, generator).to(DType::f64) / static_cast<double>(n) - 0.5).reshape(input.shape);
    }
  }
  fail("op_table: unknown Values");
}

}  // namespace

std::vector<Tensor> make_inputs(const std::vector<Input>& inputs, DType dtype, Device device, std::uint64_t seed) {
  std::vector<Tensor> made;
  Generator generator(seed);
  for (const Input& input : inputs) {
    Shape shape = input.shape;
    if (input.transposed) std::swap(shape[shape.size() - 1], shape[shape.size() - 2]);
    Tensor values = draw({shape, input.values, input.range}, generator);
    if (input.values != Values::index) values = values.to(dtype);
    values = values.to(device);
    if (input.transposed) values = values.transpose(-1, -2);
    if (input.values != Values::index && input.requires_grad) {
      values = values.detach();
      values.set_requires_grad(true);
    }
    made.push_back(values);
  }
  return made;
}

double tolerance_for(DType dtype) {
  switch (dtype) {
    case DType::f64: return 1e-10;
    case DType::f32: return 1e-5;
    case DType::f16: return 1e-2;   // 11-bit mantissa: a few roundings of 5e-4
    case DType::bf16: return 4e-2;  // 8-bit mantissa: a few roundings of 4e-3
    default: return 0;              // integer results must be exact
  }
}

}  // namespace ember::op_table
