#include "core/ops/factory.h"

#include <cmath>
#include <cstring>
#include <numeric>

#include "core/ops/copy.h"
#include "core/ops/op_utils.h"
#include "kernels/elementwise.h"
#include "kernels/random.h"
#include "kernels/philox.h"

namespace ember {

namespace {

Tensor with_requires_grad(Tensor tensor, const TensorOptions& options) {
  if (options.requires_grad) tensor.set_requires_grad(true);
  return tensor;
}

void check_sizes(const char* op, const Shape& sizes) {
  for (std::int64_t size : sizes) {
    EMBER_CHECK(size >= 0, op, ": sizes must be non-negative, got ", to_string(sizes));
  }
}

}  // namespace

Tensor empty(const Shape& sizes, TensorOptions options) {
  check_sizes("empty", sizes);
  auto storage = Storage::allocate(static_cast<std::size_t>(numel(sizes)) * size_of(options.dtype), options.device);
  return with_requires_grad(detail::make_tensor(std::move(storage), 0, sizes, contiguous_strides(sizes), options.dtype),
                            options);
}

Tensor full(const Shape& sizes, double value, TensorOptions options) {
  Tensor out = empty(sizes, {.dtype = options.dtype, .device = options.device});
  EMBER_KERNEL("full", options.device, fill, out.dtype(), out.sizes(), detail::operand(out), value);
  return with_requires_grad(out, options);
}

Tensor zeros(const Shape& sizes, TensorOptions options) { return full(sizes, 0.0, options); }
Tensor ones(const Shape& sizes, TensorOptions options) { return full(sizes, 1.0, options); }
Tensor scalar_tensor(double value, TensorOptions options) { return full({}, value, options); }

Tensor arange(double start, double end, double step, TensorOptions options) {
  EMBER_CHECK(step != 0, "arange: step must be non-zero");
  EMBER_CHECK((end - start) / step >= 0, "arange: the range [", start, ", ", end, ") with step ", step,
              " is empty the wrong way round");
  const auto count = static_cast<std::int64_t>(std::ceil((end - start) / step));
  Tensor values = empty({count}, {.dtype = DType::f64});
  double* data = values.data<double>();
  for (std::int64_t i = 0; i < count; ++i) data[i] = start + static_cast<double>(i) * step;
  return with_requires_grad(to(to(values, options.dtype), options.device), options);
}

Tensor arange(std::int64_t end, TensorOptions options) { return arange(0, static_cast<double>(end), 1, options); }

Tensor uniform(const Shape& sizes, double low, double high, TensorOptions options, Generator& generator) {
  Tensor out = empty(sizes, {.dtype = options.dtype, .device = options.device});
  const auto n = static_cast<std::uint64_t>(out.numel());
  const std::uint64_t offset = generator.reserve(kernels::philox_uniform_counters(n));
  EMBER_KERNEL("uniform", options.device, fill_uniform, out.dtype(), out.numel(), out.data_ptr(), generator.seed(),
               offset, low, high);
  return with_requires_grad(out, options);
}

Tensor normal(const Shape& sizes, double mean, double std, TensorOptions options, Generator& generator) {
  Tensor out = empty(sizes, {.dtype = options.dtype, .device = options.device});
  const auto n = static_cast<std::uint64_t>(out.numel());
  const std::uint64_t offset = generator.reserve(kernels::philox_normal_counters(n));
  EMBER_KERNEL("normal", options.device, fill_normal, out.dtype(), out.numel(), out.data_ptr(), generator.seed(),
               offset, mean, std);
  return with_requires_grad(out, options);
}

Tensor rand(const Shape& sizes, TensorOptions options, Generator& generator) {
  return uniform(sizes, 0.0, 1.0, options, generator);
}

Tensor randn(const Shape& sizes, TensorOptions options, Generator& generator) {
  return normal(sizes, 0.0, 1.0, options, generator);
}

Tensor randperm(std::int64_t n, Generator& generator) {
  EMBER_CHECK(n >= 0, "randperm: n must be non-negative, got ", n);
  Tensor out = empty({n}, {.dtype = DType::i64});
  std::int64_t* data = out.data<std::int64_t>();
  std::iota(data, data + n, std::int64_t{0});
  // Fisher-Yates; swap i draws its partner from Philox word i of this call's range.
  const std::uint64_t offset = generator.reserve(kernels::philox_uniform_counters(static_cast<std::uint64_t>(n)));
  for (std::int64_t i = n - 1; i > 0; --i) {
    const kernels::PhiloxBlock block = kernels::philox4x32_10(generator.seed(), offset + static_cast<std::uint64_t>(i) / 4);
    const std::uint32_t bits = block.word[i % 4];
    const auto j = static_cast<std::int64_t>((static_cast<std::uint64_t>(bits) * static_cast<std::uint64_t>(i + 1)) >> 32);
    std::swap(data[i], data[j]);
  }
  return out;
}

template <class T>
Tensor from_vector(const std::vector<T>& values, Shape sizes, bool requires_grad) {
  if (sizes.empty()) sizes = {static_cast<std::int64_t>(values.size())};
  EMBER_CHECK(numel(sizes) == static_cast<std::int64_t>(values.size()), "from_vector: ", values.size(),
              " values cannot fill shape ", to_string(sizes));
  Tensor out = empty(sizes, {.dtype = dtype_of<T>});
  T* data = out.data<T>();
  for (std::size_t i = 0; i < values.size(); ++i) data[i] = values[i];  // vector<bool> has no data()
  if (requires_grad) out.set_requires_grad(true);
  return out;
}

template Tensor from_vector<float>(const std::vector<float>&, Shape, bool);
template Tensor from_vector<double>(const std::vector<double>&, Shape, bool);
template Tensor from_vector<half>(const std::vector<half>&, Shape, bool);
template Tensor from_vector<bfloat16>(const std::vector<bfloat16>&, Shape, bool);
template Tensor from_vector<std::int32_t>(const std::vector<std::int32_t>&, Shape, bool);
template Tensor from_vector<std::int64_t>(const std::vector<std::int64_t>&, Shape, bool);
template Tensor from_vector<std::uint8_t>(const std::vector<std::uint8_t>&, Shape, bool);
template Tensor from_vector<bool>(const std::vector<bool>&, Shape, bool);

Tensor from_blob(void* data, const Shape& sizes, DType dtype, Device device, std::function<void(void*)> release) {
  check_sizes("from_blob", sizes);
  EMBER_CHECK(data != nullptr || numel(sizes) == 0, "from_blob: got a null pointer for shape ", to_string(sizes));
  auto storage = Storage::borrow(data, static_cast<std::size_t>(numel(sizes)) * size_of(dtype), device, std::move(release));
  return detail::make_tensor(std::move(storage), 0, sizes, contiguous_strides(sizes), dtype);
}

Tensor empty_like(const Tensor& like) { return empty(like.sizes(), {.dtype = like.dtype(), .device = like.device()}); }
Tensor zeros_like(const Tensor& like) { return zeros(like.sizes(), {.dtype = like.dtype(), .device = like.device()}); }
Tensor ones_like(const Tensor& like) { return ones(like.sizes(), {.dtype = like.dtype(), .device = like.device()}); }
Tensor full_like(const Tensor& like, double value) {
  return full(like.sizes(), value, {.dtype = like.dtype(), .device = like.device()});
}

}  // namespace ember
