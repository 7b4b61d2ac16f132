#include "core/ops/reduction.h"

#include <algorithm>

#include "core/autocast.h"
#include "core/ops/copy.h"
#include "core/ops/elementwise.h"
#include "core/ops/factory.h"
#include "core/ops/indexing.h"
#include "core/ops/op_utils.h"
#include "core/ops/view.h"
#include "kernels/reduce.h"

namespace ember {

using detail::needs_grad;
using kernels::ReduceOp;
using Grads = std::vector<Tensor>;

namespace {

// Which dims are reduced, and the output shapes with and without them.
struct ReducePlan {
  std::vector<bool> reduced;  // per input dim
  Shape keepdim_sizes;        // reduced dims as 1
  Shape out_sizes;            // as the caller asked (keepdim or not)
  std::int64_t count = 1;     // elements reduced into each output
};

ReducePlan plan_reduction(const char* op, const Tensor& input, const Shape& dims, bool keepdim) {
  const std::int64_t ndim = input.dim();
  ReducePlan plan;
  plan.reduced.assign(ndim, dims.empty());
  for (std::int64_t dim : dims) {
    const std::int64_t d = normalize_dim(op, dim, ndim);
    EMBER_CHECK(!plan.reduced[d], op, ": dim ", d, " appears twice in ", to_string(dims));
    plan.reduced[d] = true;
  }
  for (std::int64_t d = 0; d < ndim; ++d) {
    const std::int64_t size = input.sizes()[d];
    plan.keepdim_sizes.push_back(plan.reduced[d] ? 1 : size);
    if (plan.reduced[d]) plan.count *= size;
    if (!plan.reduced[d] || keepdim) plan.out_sizes.push_back(plan.reduced[d] ? 1 : size);
  }
  return plan;
}

// Runs the reduce kernel: kept dims first, reduced dims last (a permuted view, no copy).
void run_reduce(ReduceOp op, const Tensor& input, const ReducePlan& plan, const Tensor& out, const Tensor* indices) {
  Shape sizes, strides;
  std::size_t kept = 0;
  for (int pass = 0; pass < 2; ++pass) {
    for (std::size_t d = 0; d < plan.reduced.size(); ++d) {
      if (plan.reduced[d] != (pass == 1)) continue;
      sizes.push_back(input.sizes()[d]);
      strides.push_back(input.strides()[d]);
      if (pass == 0) ++kept;
    }
  }
  EMBER_KERNEL("reduce", input.device(), reduce, op, input.dtype(), sizes, kept, {input.data_ptr(), strides},
               out.data_ptr(), indices ? indices->data<std::int64_t>() : nullptr);
}

// max/min along one dim: values and the indices the backward scatters into.
std::pair<Tensor, Tensor> extreme(const char* op, ReduceOp kind, const Tensor& input, std::int64_t dim, bool keepdim) {
  detail::common_device(op, {&input});
  EMBER_CHECK(input.dim() > 0 || dim == 0 || dim == -1, op, ": dim ", dim, " is out of range for a 0-dim tensor");
  const Tensor source = input.dim() == 0 ? input.reshape({1}) : input;
  const ReducePlan plan = plan_reduction(op, source, {dim}, keepdim);
  EMBER_CHECK(plan.count > 0, op, ": cannot reduce an empty dim (input shape ", to_string(input.sizes()), ")");
  Tensor values = empty(plan.keepdim_sizes, {.dtype = input.dtype(), .device = input.device()});
  Tensor indices = empty(plan.keepdim_sizes, {.dtype = DType::i64, .device = input.device()});
  run_reduce(kind, source, plan, values, &indices);
  if (needs_grad(input)) {
    const std::int64_t d = normalize_dim(op, dim, source.dim());
    record_op(op, values, {input}, [indices, d, source_sizes = source.sizes(),
                                    input_sizes = input.sizes()](const Tensor& g, const Node&) {
      const Tensor target = zeros(source_sizes, {.dtype = g.dtype(), .device = g.device()});
      return Grads{scatter_add(target, d, indices, g).reshape(input_sizes)};
    });
  }
  if (input.dim() == 0) return {values.reshape({}), indices.reshape({})};
  if (keepdim) return {values, indices};
  return {values.squeeze(dim), indices.squeeze(dim)};
}

// The extreme of all elements. Its gradient is split evenly among the elements equal to it, as
// PyTorch splits it among ties (among the NaNs when the extreme is NaN).
Tensor full_extreme(const char* op, ReduceOp kind, const Tensor& input) {
  const Tensor value = extreme(op, kind, input.detach().reshape({-1}), 0, false).first.reshape({});
  if (needs_grad(input)) {
    // The value detached: the output itself in its own backward would be a reference cycle.
    record_op(op, value, {input}, [saved = SavedTensor(input), extreme_value = value.detach()](const Tensor& g,
                                                                                              const Node&) {
      const Tensor& x = saved.get();
      const Tensor is_nan = ne(extreme_value, extreme_value);
      const Tensor ties = to(where(is_nan, ne(x, x), eq(x, extreme_value)), g.dtype());
      return Grads{ties * (g / sum(ties))};
    });
  }
  return value;
}

}  // namespace

Tensor sum(const Tensor& input_in, const Shape& dims, bool keepdim) {
  const Tensor input = detail::autocast_f32(input_in);
  detail::common_device("sum", {&input});
  const ReducePlan plan = plan_reduction("sum", input, dims, keepdim);
  const DType out_dtype = is_floating(input.dtype()) ? input.dtype() : DType::i64;
  Tensor out = empty(plan.out_sizes, {.dtype = out_dtype, .device = input.device()});
  run_reduce(ReduceOp::sum, input, plan, out, nullptr);
  if (needs_grad(input)) {
    record_op("sum", out, {input}, [plan, input_sizes = input.sizes()](const Tensor& g, const Node&) {
      return Grads{expand(g.reshape(plan.keepdim_sizes), input_sizes)};
    });
  }
  return out;
}

Tensor sum(const Tensor& input) { return sum(input, {}, false); }

Tensor mean(const Tensor& input_in, const Shape& dims, bool keepdim) {
  const Tensor input = detail::autocast_f32(input_in);
  detail::check_defined("mean", input);
  detail::check_floating("mean", input);
  const ReducePlan plan = plan_reduction("mean", input, dims, keepdim);
  return sum(input, dims, keepdim) / static_cast<double>(plan.count);
}

Tensor mean(const Tensor& input) { return mean(input, {}, false); }

Tensor var(const Tensor& input_in, const Shape& dims, std::int64_t correction, bool keepdim) {
  const Tensor input = detail::autocast_f32(input_in);
  detail::check_defined("var", input);
  detail::check_floating("var", input);
  const ReducePlan plan = plan_reduction("var", input, dims, keepdim);
  const Tensor centered = input - mean(input, dims, /*keepdim=*/true);
  const double divisor = static_cast<double>(std::max<std::int64_t>(plan.count - correction, 0));
  return sum(centered * centered, dims, keepdim) / divisor;
}

Tensor max(const Tensor& input, std::int64_t dim, bool keepdim) {
  return extreme("max", ReduceOp::max, input, dim, keepdim).first;
}
Tensor min(const Tensor& input, std::int64_t dim, bool keepdim) {
  return extreme("min", ReduceOp::min, input, dim, keepdim).first;
}
Tensor max(const Tensor& input) { return full_extreme("max", ReduceOp::max, input); }
Tensor min(const Tensor& input) { return full_extreme("min", ReduceOp::min, input); }
Tensor argmax(const Tensor& input, std::int64_t dim, bool keepdim) {
  return extreme("argmax", ReduceOp::max, input.detach(), dim, keepdim).second;
}
Tensor argmin(const Tensor& input, std::int64_t dim, bool keepdim) {
  return extreme("argmin", ReduceOp::min, input.detach(), dim, keepdim).second;
}
Tensor argmax(const Tensor& input) { return argmax(input.reshape({-1}), 0).reshape({}); }
Tensor argmin(const Tensor& input) { return argmin(input.reshape({-1}), 0).reshape({}); }

}  // namespace ember
