#include "core/ops/indexing.h"

#include "core/ops/copy.h"
#include "core/ops/factory.h"
#include "core/ops/op_utils.h"
#include "core/ops/reduction.h"
#include "kernels/index.h"

namespace ember {

using detail::needs_grad;
using Grads = std::vector<Tensor>;

namespace {

// The [outer, n, inner] split of a contiguous tensor's shape around `dim`.
struct AroundDim {
  std::int64_t outer = 1, n = 1, inner = 1;
};

AroundDim around(const Shape& sizes, std::int64_t dim) {
  AroundDim split;
  for (std::int64_t d = 0; d < static_cast<std::int64_t>(sizes.size()); ++d) {
    if (d < dim) split.outer *= sizes[d];
    if (d == dim) split.n = sizes[d];
    if (d > dim) split.inner *= sizes[d];
  }
  return split;
}

void check_index_values(const char* op, const Tensor& index, std::int64_t size, std::int64_t dim,
                        const Tensor& input) {
  EMBER_CHECK(index.dtype() == DType::i64, op, ": index must be an i64 tensor, got ", describe(index));
  if (index.numel() == 0) return;
  const auto low = min(index).item<std::int64_t>();
  const auto high = max(index).item<std::int64_t>();
  EMBER_CHECK(low >= 0 && high < size, op, ": index ", (low < 0 ? low : high), " is out of range for dim ", dim,
              " of size ", size, " (input ", describe(input), ")");
}

// Checks gather/scatter_add's shape rule: index has input's rank and sizes, except along dim.
void check_gather_shapes(const char* op, const Tensor& input, std::int64_t dim, const Tensor& index) {
  bool ok = index.dim() == input.dim();
  for (std::int64_t d = 0; ok && d < input.dim(); ++d) ok = d == dim || index.size(d) == input.size(d);
  EMBER_CHECK(ok, op, ": index of shape ", to_string(index.sizes()), " must match input of shape ",
              to_string(input.sizes()), " in every dim but ", dim);
}

// The gradient of index_select: zeros of the input's sizes with each slice of g added at its index.
Tensor index_select_backward(const Shape& input_sizes, std::int64_t dim, const Tensor& positions, const Tensor& g) {
  Tensor grad = zeros(input_sizes, {.dtype = g.dtype(), .device = g.device()});
  const Tensor dense = g.contiguous();
  const AroundDim split = around(input_sizes, dim);
  EMBER_KERNEL("index_select", g.device(), index_add, g.dtype(), split.outer, split.n, split.inner, grad.data_ptr(),
               positions.data<std::int64_t>(), positions.numel(), dense.data_ptr());
  return grad;
}

// scatter and scatter_add: the checks, the output (a copy of self) and the kernel call they share;
// dim comes back normalized.
template <class Kernel>
Tensor scatter_into_copy(const char* op, const Tensor& self, std::int64_t& dim, const Tensor& index, const Tensor& src,
                         Kernel&& kernel) {
  detail::common_device(op, {&self, &index, &src});
  detail::check_same_dtype(op, self, src);
  dim = normalize_dim(op, dim, self.dim());
  check_gather_shapes(op, self, dim, index);
  EMBER_CHECK(src.sizes() == index.sizes(), op, ": src of shape ", to_string(src.sizes()),
              " must have the index's shape ", to_string(index.sizes()));
  check_index_values(op, index, self.dim() == 0 ? 1 : self.size(dim), dim, self);
  Tensor out = clone(self.detach());
  const Tensor positions = index.contiguous();
  const Tensor values = src.contiguous();
  const AroundDim out_split = around(self.sizes(), dim);
  const AroundDim src_split = around(index.sizes(), dim);
  kernel(out_split.outer, out_split.n, src_split.n, out_split.inner, out.data_ptr(), positions.data<std::int64_t>(),
         values.data_ptr());
  return out;
}

}  // namespace

Tensor index_select(const Tensor& input, std::int64_t dim, const Tensor& index) {
  const Device device = detail::common_device("index_select", {&input, &index});
  EMBER_CHECK(input.dim() > 0, "index_select: input must have at least one dim, got ", describe(input));
  EMBER_CHECK(index.dim() <= 1, "index_select: index must be 0-D or 1-D, got ", describe(index));
  dim = normalize_dim("index_select", dim, input.dim());
  check_index_values("index_select", index, input.size(dim), dim, input);
  const Tensor source = input.contiguous();
  const Tensor positions = index.contiguous();
  const AroundDim split = around(input.sizes(), dim);
  Shape sizes = input.sizes();
  sizes[dim] = positions.numel();
  Tensor out = empty(sizes, {.dtype = input.dtype(), .device = device});
  EMBER_KERNEL("index_select", device, index_select, input.dtype(), split.outer, split.n, split.inner,
               source.data_ptr(), positions.data<std::int64_t>(), positions.numel(), out.data_ptr());
  if (needs_grad(input)) {
    record_op("index_select", out, {input}, [positions, dim, input_sizes = input.sizes()](const Tensor& g, const Node&) {
      return Grads{index_select_backward(input_sizes, dim, positions, g)};
    });
  }
  return out;
}

Tensor embedding(const Tensor& weight, const Tensor& indices, std::optional<std::int64_t> padding_idx) {
  EMBER_CHECK(weight.dim() == 2, "embedding: weight must be [num_embeddings, dim], got ", describe(weight));
  if (padding_idx) {
    const std::int64_t rows = weight.size(0);
    EMBER_CHECK(*padding_idx >= -rows && *padding_idx < rows, "embedding: padding_idx ", *padding_idx,
                " must be within the ", rows, " embeddings");
    if (*padding_idx < 0) *padding_idx += rows;
  }
  const Tensor flat = indices.reshape({-1});
  Shape sizes = indices.sizes();
  sizes.push_back(weight.size(1));
  if (!padding_idx) return index_select(weight, 0, flat).reshape(sizes);
  Tensor out = index_select(weight.detach(), 0, flat);
  if (needs_grad(weight)) {
    const Tensor positions = flat.contiguous();
    record_op("embedding", out, {weight}, [positions, row = *padding_idx, weight_sizes = weight.sizes()](const Tensor& g,
                                                                                                          const Node&) {
      Tensor grad = index_select_backward(weight_sizes, 0, positions, g);
      grad.select(0, row).zero_();
      return Grads{grad};
    });
  }
  return out.reshape(sizes);
}

Tensor gather(const Tensor& input, std::int64_t dim, const Tensor& index) {
  const Device device = detail::common_device("gather", {&input, &index});
  dim = normalize_dim("gather", dim, input.dim());
  check_gather_shapes("gather", input, dim, index);
  check_index_values("gather", index, input.dim() == 0 ? 1 : input.size(dim), dim, input);
  const Tensor source = input.contiguous();
  const Tensor positions = index.contiguous();
  const AroundDim in_split = around(input.sizes(), dim);
  const AroundDim out_split = around(index.sizes(), dim);
  Tensor out = empty(index.sizes(), {.dtype = input.dtype(), .device = device});
  EMBER_KERNEL("gather", device, gather, input.dtype(), in_split.outer, in_split.n, out_split.n, in_split.inner,
               source.data_ptr(), positions.data<std::int64_t>(), out.data_ptr());
  if (needs_grad(input)) {
    record_op("gather", out, {input}, [positions, dim, input_sizes = input.sizes()](const Tensor& g, const Node&) {
      return Grads{scatter_add(zeros(input_sizes, {.dtype = g.dtype(), .device = g.device()}), dim, positions, g)};
    });
  }
  return out;
}

Tensor scatter(const Tensor& self, std::int64_t dim, const Tensor& index, const Tensor& src) {
  Tensor out = scatter_into_copy("scatter", self, dim, index, src, [&](auto... args) {
    EMBER_KERNEL("scatter", self.device(), scatter, self.dtype(), args...);
  });
  if (needs_grad(self, src)) {
    const Tensor positions = index.contiguous();
    record_op("scatter", out, {self, src}, [positions, dim](const Tensor& g, const Node& n) {
      // self's gradient is g where nothing was written over it.
      const Tensor overwritten = zeros(positions.sizes(), {.dtype = g.dtype(), .device = g.device()});
      return Grads{n.needs_input_grad(0) ? scatter(g, dim, positions, overwritten) : Tensor(),
                   n.needs_input_grad(1) ? gather(g, dim, positions) : Tensor()};
    });
  }
  return out;
}

Tensor scatter_add(const Tensor& self, std::int64_t dim, const Tensor& index, const Tensor& src) {
  Tensor out = scatter_into_copy("scatter_add", self, dim, index, src, [&](auto... args) {
    EMBER_KERNEL("scatter_add", self.device(), scatter_add, self.dtype(), args...);
  });
  if (needs_grad(self, src)) {
    const Tensor positions = index.contiguous();
    record_op("scatter_add", out, {self, src}, [positions, dim](const Tensor& g, const Node& n) {
      return Grads{n.needs_input_grad(0) ? g : Tensor(), n.needs_input_grad(1) ? gather(g, dim, positions) : Tensor()};
    });
  }
  return out;
}

}  // namespace ember
