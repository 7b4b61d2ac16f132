#pragma once
// Factories: tensors made from nothing, from values, or from random draws.
#include <cstdint>
#include <functional>
#include <vector>

#include "core/generator.h"
#include "core/tensor.h"

namespace ember {

struct TensorOptions {
  DType dtype = DType::f32;
  Device device = Device::cpu();
  bool requires_grad = false;
};

Tensor empty(const Shape& sizes, TensorOptions options = {});
Tensor zeros(const Shape& sizes, TensorOptions options = {});
Tensor ones(const Shape& sizes, TensorOptions options = {});
Tensor full(const Shape& sizes, double value, TensorOptions options = {});
// [start, end) in steps of `step`, like torch.arange (i64 unless options say otherwise).
Tensor arange(double start, double end, double step = 1, TensorOptions options = {.dtype = DType::i64});
Tensor arange(std::int64_t end, TensorOptions options = {.dtype = DType::i64});
// A 0-dim tensor holding `value`.
Tensor scalar_tensor(double value, TensorOptions options = {});

// U[low, high) and N(mean, std) from Philox; each call advances `generator`.
Tensor rand(const Shape& sizes, TensorOptions options = {}, Generator& generator = default_generator());
Tensor randn(const Shape& sizes, TensorOptions options = {}, Generator& generator = default_generator());
Tensor uniform(const Shape& sizes, double low, double high, TensorOptions options = {},
               Generator& generator = default_generator());
Tensor normal(const Shape& sizes, double mean, double std, TensorOptions options = {},
              Generator& generator = default_generator());
// A random permutation of 0..n-1 (i64), like torch.randperm.
Tensor randperm(std::int64_t n, Generator& generator = default_generator());

// A tensor holding a copy of `values`, with `sizes` (default: 1-D, like torch.tensor([...])).
// T picks the dtype.
template <class T>
Tensor from_vector(const std::vector<T>& values, Shape sizes = {}, bool requires_grad = false);
// A tensor over memory the caller owns (nothing is copied). `release` runs when the last
// tensor using the memory is gone; the caller keeps the memory alive until then otherwise.
Tensor from_blob(void* data, const Shape& sizes, DType dtype, Device device = Device::cpu(),
                 std::function<void(void*)> release = {});

Tensor empty_like(const Tensor& like);
Tensor zeros_like(const Tensor& like);
Tensor ones_like(const Tensor& like);
Tensor full_like(const Tensor& like, double value);

}  // namespace ember
