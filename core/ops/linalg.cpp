#include "core/ops/linalg.h"

#include "core/autocast.h"
#include "core/ops/copy.h"
#include "core/ops/factory.h"
#include "core/ops/op_utils.h"
#include "core/ops/reduction.h"
#include "core/ops/view.h"
#include "kernels/elementwise.h"
#include "kernels/gemm.h"

namespace ember {

using detail::needs_grad;
using Grads = std::vector<Tensor>;

namespace {

// The GEMM kernel's view of the last two dims of `t`, made contiguous if Eigen cannot read them.
Tensor gemm_ready(const Tensor& t) {
  const std::int64_t rows = t.size(-2), cols = t.size(-1);
  const kernels::MatrixRef ref{t.data_ptr(), t.stride(-2), t.stride(-1)};
  return kernels::gemm_layout_supported(ref, rows, cols) ? t : t.contiguous();
}

// The product of all but the last `trailing` sizes: the row (or batch) count of a reshape that
// -1 cannot name when a trailing size is 0 (an empty depth).
std::int64_t product_of_leading_dims(const Tensor& t, std::int64_t trailing) {
  std::int64_t product = 1;
  for (std::int64_t d = 0; d < t.dim() - trailing; ++d) product *= t.size(d);
  return product;
}

kernels::MatrixRef matrix_ref(const Tensor& t) { return {t.data_ptr(), t.stride(-2), t.stride(-1)}; }

// out[b] = a[b] @ b[b] (+ out[b] when accumulate) for 3-D a [B, m, k], b [B, k, n], out [B, m, n].
void run_bmm(const Tensor& a, const Tensor& b, const Tensor& out, bool accumulate) {
  const Tensor lhs = gemm_ready(a), rhs = gemm_ready(b);
  EMBER_KERNEL("matmul", out.device(), gemm, out.dtype(), out.size(0), out.size(1), out.size(2), lhs.size(2),
               matrix_ref(lhs), lhs.stride(0), matrix_ref(rhs), rhs.stride(0), out.data_ptr(), out.stride(1),
               out.stride(0), accumulate);
}

// The differentiable batched product every matmul reduces to.
Tensor bmm(const Tensor& a, const Tensor& b) {
  Tensor out = empty({a.size(0), a.size(1), b.size(2)}, {.dtype = a.dtype(), .device = a.device()});
  run_bmm(a, b, out, false);
  if (needs_grad(a, b)) {
    const SavedTensor saved_a = b.requires_grad() ? SavedTensor(a) : SavedTensor();
    const SavedTensor saved_b = a.requires_grad() ? SavedTensor(b) : SavedTensor();
    record_op("matmul", out, {a, b}, [saved_a, saved_b](const Tensor& g, const Node& n) {
      // dA = dC @ B^T, dB = A^T @ dC; the transposes are strided views the GEMM reads directly.
      return Grads{n.needs_input_grad(0) ? bmm(g, saved_b.get().transpose(1, 2)) : Tensor(),
                   n.needs_input_grad(1) ? bmm(saved_a.get().transpose(1, 2), g) : Tensor()};
    });
  }
  return out;
}

}  // namespace

Tensor matmul(const Tensor& a_in, const Tensor& b_in) {
  const Tensor a = detail::autocast_lower(a_in), b = detail::autocast_lower(b_in);
  detail::common_device("matmul", {&a, &b});
  detail::check_same_dtype("matmul", a, b);
  detail::check_floating("matmul", a);
  EMBER_CHECK(a.dim() >= 1 && b.dim() >= 1, "matmul: both arguments need at least 1 dim, got shapes ",
              to_string(a.sizes()), " and ", to_string(b.sizes()));
  // Promote 1-D operands to matrices; their extra dim is removed from the result at the end.
  const Tensor lhs = a.dim() == 1 ? a.unsqueeze(0) : a;
  const Tensor rhs = b.dim() == 1 ? b.unsqueeze(1) : b;
  const std::int64_t m = lhs.size(-2), k = lhs.size(-1), n = rhs.size(-1);
  EMBER_CHECK(rhs.size(-2) == k, "matmul: shapes ", to_string(a.sizes()), " and ", to_string(b.sizes()),
              " cannot be multiplied (", k, " vs ", rhs.size(-2), ")");

  Tensor result;
  if (rhs.dim() == 2) {
    // [..., m, k] @ [k, n]: fold the batch into the rows, one GEMM.
    const Tensor rows = lhs.reshape({product_of_leading_dims(lhs, 1), k});
    result = bmm(rows.unsqueeze(0), rhs.unsqueeze(0));
    Shape sizes(lhs.sizes().begin(), lhs.sizes().end() - 1);
    sizes.push_back(n);
    result = result.reshape(sizes);
  } else {
    const Shape batch_a(lhs.sizes().begin(), lhs.sizes().end() - 2);
    const Shape batch_b(rhs.sizes().begin(), rhs.sizes().end() - 2);
    Shape batch = broadcast_shapes("matmul", batch_a, batch_b);
    Shape a_sizes = batch, b_sizes = batch;
    a_sizes.insert(a_sizes.end(), {m, k});
    b_sizes.insert(b_sizes.end(), {k, n});
    const std::int64_t count = product_of_leading_dims(lhs.expand(a_sizes), 2);
    const Tensor a3 = lhs.expand(a_sizes).reshape({count, m, k});
    const Tensor b3 = rhs.expand(b_sizes).reshape({count, k, n});
    Shape sizes = batch;
    sizes.insert(sizes.end(), {m, n});
    result = bmm(a3, b3).reshape(sizes);
  }
  if (b.dim() == 1) result = result.squeeze(-1);
  if (a.dim() == 1) result = result.squeeze(b.dim() == 1 ? -1 : -2);
  return result;
}

Tensor linear(const Tensor& input_in, const Tensor& weight_in, const Tensor& bias_in) {
  const Tensor input = detail::autocast_lower(input_in), weight = detail::autocast_lower(weight_in),
               bias = detail::autocast_lower(bias_in);
  const Device device = bias.defined() ? detail::common_device("linear", {&input, &weight, &bias})
                                       : detail::common_device("linear", {&input, &weight});
  detail::check_same_dtype("linear", input, weight);
  detail::check_floating("linear", input);
  EMBER_CHECK(weight.dim() == 2 && input.dim() >= 1 && input.size(-1) == weight.size(1), "linear: input of shape ",
              to_string(input.sizes()), " cannot be multiplied by weight of shape ", to_string(weight.sizes()),
              " (expected input [..., ", weight.dim() == 2 ? weight.size(1) : -1, "])");
  const std::int64_t in_features = weight.size(1), out_features = weight.size(0);
  if (bias.defined()) {
    detail::check_same_dtype("linear", input, bias);
    EMBER_CHECK(bias.dim() == 1 && bias.size(0) == out_features, "linear: bias of shape ", to_string(bias.sizes()),
                " does not match weight of shape ", to_string(weight.sizes()));
  }
  const Tensor rows = gemm_ready(input.reshape({product_of_leading_dims(input, 1), in_features}));
  Tensor out = empty({rows.size(0), out_features}, {.dtype = input.dtype(), .device = device});
  if (bias.defined()) {
    // Start every row at the bias; the GEMM then accumulates x @ W^T onto it.
    EMBER_KERNEL("linear", device, copy, out.dtype(), bias.dtype(), out.sizes(), detail::operand(out),
                 detail::operand(bias, out.sizes()));
  }
  const Tensor weight_t = gemm_ready(weight.t());
  EMBER_KERNEL("linear", device, gemm, out.dtype(), 1, rows.size(0), out_features, in_features, matrix_ref(rows), 0,
               matrix_ref(weight_t), 0, out.data_ptr(), out.stride(0), 0, bias.defined());
  if (needs_grad(input, weight, bias)) {
    const SavedTensor saved_input = weight.requires_grad() ? SavedTensor(rows) : SavedTensor();
    const SavedTensor saved_weight = input.requires_grad() ? SavedTensor(weight) : SavedTensor();
    record_op("linear", out, {rows, weight, bias}, [saved_input, saved_weight](const Tensor& g, const Node& n) {
      // dX = dY @ W, dW = dY^T @ X, db = sum of dY over rows.
      return Grads{n.needs_input_grad(0) ? matmul(g, saved_weight.get()) : Tensor(),
                   n.needs_input_grad(1) ? matmul(g.t(), saved_input.get()) : Tensor(),
                   n.needs_input_grad(2) ? sum(g, {0}) : Tensor()};
    });
  }
  Shape sizes(input.sizes().begin(), input.sizes().end() - 1);
  sizes.push_back(out_features);
  return out.reshape(sizes);
}

}  // namespace ember
