#include "core/ops/join.h"

#include "core/autocast.h"
#include "core/autograd/node.h"
#include "core/ops/factory.h"
#include "core/ops/op_utils.h"
#include "core/ops/view.h"

namespace ember {

Tensor cat(const std::vector<Tensor>& tensors_in, std::int64_t dim) {
  EMBER_CHECK(!tensors_in.empty(), "cat: expected a non-empty list of tensors");
  const std::vector<Tensor> tensors = detail::autocast_widest(tensors_in);
  const Tensor& first = tensors.front();
  detail::check_defined("cat", first);
  EMBER_CHECK(first.dim() > 0, "cat: zero-dimensional tensor ", describe(first), " cannot be concatenated");
  dim = normalize_dim("cat", dim, first.dim());
  Shape sizes = first.sizes();
  sizes[dim] = 0;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    detail::common_device("cat", {&first, &t});
    detail::check_same_dtype("cat", first, t);
    bool same = t.dim() == first.dim();
    for (std::int64_t d = 0; same && d < first.dim(); ++d) same = d == dim || t.size(d) == first.size(d);
    EMBER_CHECK(same, "cat: tensor ", i, " of shape ", to_string(t.sizes()), " does not match tensor 0 of shape ",
                to_string(first.sizes()), " outside dim ", dim);
    sizes[dim] += t.size(dim);
  }
  Tensor out = empty(sizes, {.dtype = first.dtype(), .device = first.device()});
  std::vector<std::int64_t> offsets;
  std::int64_t offset = 0;
  for (const Tensor& t : tensors) {
    offsets.push_back(offset);
    detail::copy_data(slice(out.detach(), dim, offset, offset + t.size(dim)), t);
    offset += t.size(dim);
  }
  offsets.push_back(offset);
  if (any_requires_grad(tensors)) {
    record_op("cat", out, tensors, [offsets, dim](const Tensor& g, const Node& n) {
      std::vector<Tensor> grads(offsets.size() - 1);
      for (std::size_t i = 0; i + 1 < offsets.size(); ++i) {
        if (n.needs_input_grad(i)) grads[i] = slice(g, dim, offsets[i], offsets[i + 1]);
      }
      return grads;
    });
  }
  return out;
}

Tensor stack(const std::vector<Tensor>& tensors, std::int64_t dim) {
  EMBER_CHECK(!tensors.empty(), "stack: expected a non-empty list of tensors");
  detail::check_defined("stack", tensors.front());
  dim = normalize_dim("stack", dim, tensors.front().dim() + 1);
  std::vector<Tensor> expanded;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    EMBER_CHECK(tensors[i].sizes() == tensors.front().sizes(), "stack: tensor ", i, " of shape ",
                to_string(tensors[i].sizes()), " differs from tensor 0 of shape ", to_string(tensors.front().sizes()));
    expanded.push_back(unsqueeze(tensors[i], dim));
  }
  return cat(expanded, dim);
}

}  // namespace ember
