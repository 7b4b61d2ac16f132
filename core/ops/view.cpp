#include "core/ops/view.h"

#include <algorithm>
#include <numeric>
#include <optional>

#include "core/ops/copy.h"
#include "core/ops/factory.h"
#include "core/ops/op_utils.h"

namespace ember {

using detail::make_view;
using detail::needs_grad;

namespace {

// Resolves one -1 entry so the sizes hold `count` elements.
Shape infer_sizes(const char* op, const Tensor& input, Shape sizes) {
  std::int64_t known = 1;
  std::optional<std::size_t> unknown;
  for (std::size_t d = 0; d < sizes.size(); ++d) {
    if (sizes[d] == -1) {
      EMBER_CHECK(!unknown, op, ": only one dimension can be -1, got ", to_string(sizes));
      unknown = d;
    } else {
      EMBER_CHECK(sizes[d] >= 0, op, ": invalid size ", sizes[d], " in ", to_string(sizes));
      known *= sizes[d];
    }
  }
  const std::int64_t count = input.numel();
  if (unknown) {
    EMBER_CHECK(known != 0 && count % known == 0, op, ": shape ", to_string(sizes), " is invalid for input of shape ",
                to_string(input.sizes()));
    sizes[*unknown] = count / known;
  }
  EMBER_CHECK(numel(sizes) == count, op, ": shape ", to_string(sizes), " is invalid for input of shape ",
              to_string(input.sizes()), " (", count, " elements)");
  return sizes;
}

// Strides that lay `new_sizes` over memory with (old_sizes, old_strides), if any exist. Old
// dims are grouped into runs that are contiguous with each other; each run must be covered
// exactly by a run of new dims, which then step through it with the run's innermost stride.
std::optional<Shape> view_strides(const Shape& old_sizes, const Shape& old_strides, const Shape& new_sizes) {
  Shape new_strides(new_sizes.size(), 1);
  if (old_sizes.empty()) return new_strides;  // a scalar becomes any all-ones shape
  if (numel(old_sizes) == 0) return contiguous_strides(new_sizes);
  std::int64_t view_d = static_cast<std::int64_t>(new_sizes.size()) - 1;
  std::int64_t run_stride = old_strides.back();
  std::int64_t run_numel = 1, view_numel = 1;
  for (std::int64_t d = static_cast<std::int64_t>(old_sizes.size()) - 1; d >= 0; --d) {
    run_numel *= old_sizes[d];
    const bool run_ends =
        d == 0 || (old_sizes[d - 1] != 1 && old_strides[d - 1] != run_numel * run_stride);
    if (!run_ends) continue;
    while (view_d >= 0 && (view_numel < run_numel || new_sizes[view_d] == 1)) {
      new_strides[view_d] = view_numel * run_stride;
      view_numel *= new_sizes[view_d];
      --view_d;
    }
    if (view_numel != run_numel) return std::nullopt;
    if (d > 0) {
      run_stride = old_strides[d - 1];
      run_numel = 1;
      view_numel = 1;
    }
  }
  if (view_d != -1) return std::nullopt;
  return new_strides;
}

// Records a view whose gradient is the output gradient reshaped back to the input's shape.
Tensor reshaping_view(const char* op, const Tensor& input, Shape sizes, Shape strides) {
  Tensor out = make_view(input, std::move(sizes), std::move(strides), input.storage_offset());
  if (needs_grad(input)) {
    record_op(op, out, {input}, [input_sizes = input.sizes()](const Tensor& grad, const Node&) {
      return std::vector<Tensor>{reshape(grad, input_sizes)};
    });
  }
  return out;
}

}  // namespace

Tensor view(const Tensor& input, const Shape& sizes) {
  detail::check_defined("view", input);
  const Shape resolved = infer_sizes("view", input, sizes);
  auto strides = view_strides(input.sizes(), input.strides(), resolved);
  EMBER_CHECK(strides.has_value(), "view: shape ", to_string(resolved), " is not compatible with input of shape ",
              to_string(input.sizes()), " and strides ", to_string(input.strides()),
              " (at least one dimension spans two runs of memory); use reshape() instead");
  return reshaping_view("view", input, resolved, std::move(*strides));
}

Tensor reshape(const Tensor& input, const Shape& sizes) {
  detail::check_defined("reshape", input);
  const Shape resolved = infer_sizes("reshape", input, sizes);
  if (view_strides(input.sizes(), input.strides(), resolved)) return view(input, resolved);
  return view(contiguous(input), resolved);
}

Tensor permute(const Tensor& input, const Shape& dims) {
  detail::check_defined("permute", input);
  const std::int64_t ndim = input.dim();
  EMBER_CHECK(static_cast<std::int64_t>(dims.size()) == ndim, "permute: got ", dims.size(), " dims ",
              to_string(dims), " for a tensor of shape ", to_string(input.sizes()));
  Shape sizes(ndim), strides(ndim), inverse(ndim, -1);
  for (std::int64_t i = 0; i < ndim; ++i) {
    const std::int64_t d = normalize_dim("permute", dims[i], ndim);
    EMBER_CHECK(inverse[d] == -1, "permute: dim ", d, " repeats in ", to_string(dims));
    inverse[d] = i;
    sizes[i] = input.sizes()[d];
    strides[i] = input.strides()[d];
  }
  Tensor out = make_view(input, sizes, strides, input.storage_offset());
  if (needs_grad(input)) {
    record_op("permute", out, {input}, [inverse](const Tensor& grad, const Node&) {
      return std::vector<Tensor>{permute(grad, inverse)};
    });
  }
  return out;
}

Tensor transpose(const Tensor& input, std::int64_t dim0, std::int64_t dim1) {
  detail::check_defined("transpose", input);
  const std::int64_t ndim = input.dim();
  if (ndim == 0) return permute(input, {});
  Shape dims(ndim);
  std::iota(dims.begin(), dims.end(), 0);
  std::swap(dims[normalize_dim("transpose", dim0, ndim)], dims[normalize_dim("transpose", dim1, ndim)]);
  return permute(input, dims);
}

Tensor slice(const Tensor& input, std::int64_t dim, std::int64_t start, std::int64_t end, std::int64_t step) {
  detail::check_defined("slice", input);
  EMBER_CHECK(input.dim() > 0, "slice: cannot slice a 0-dim tensor");
  EMBER_CHECK(step > 0, "slice: step must be positive, got ", step);
  dim = normalize_dim("slice", dim, input.dim());
  const std::int64_t size = input.size(dim);
  auto clamp_bound = [size](std::int64_t bound) {
    if (bound < 0) bound += size;
    return std::clamp<std::int64_t>(bound, 0, size);
  };
  start = clamp_bound(start);
  end = std::max(clamp_bound(end), start);
  Shape sizes = input.sizes(), strides = input.strides();
  sizes[dim] = (end - start + step - 1) / step;
  strides[dim] *= step;
  Tensor out = make_view(input, sizes, strides, input.storage_offset() + start * input.stride(dim));
  if (needs_grad(input)) {
    record_op("slice", out, {input}, [input_sizes = input.sizes(), dim, start, end, step](const Tensor& grad, const Node&) {
      Tensor full = zeros(input_sizes, {.dtype = grad.dtype(), .device = grad.device()});
      slice(full, dim, start, end, step).copy_(grad);
      return std::vector<Tensor>{full};
    });
  }
  return out;
}

Tensor select(const Tensor& input, std::int64_t dim, std::int64_t index) {
  detail::check_defined("select", input);
  EMBER_CHECK(input.dim() > 0, "select: cannot select from a 0-dim tensor");
  dim = normalize_dim("select", dim, input.dim());
  const std::int64_t size = input.size(dim);
  EMBER_CHECK(index >= -size && index < size, "select: index ", index, " is out of range for dim ", dim,
              " of size ", size, " (shape ", to_string(input.sizes()), ")");
  if (index < 0) index += size;
  Shape sizes = input.sizes(), strides = input.strides();
  sizes.erase(sizes.begin() + dim);
  strides.erase(strides.begin() + dim);
  Tensor out = make_view(input, sizes, strides, input.storage_offset() + index * input.stride(dim));
  if (needs_grad(input)) {
    record_op("select", out, {input}, [input_sizes = input.sizes(), dim, index](const Tensor& grad, const Node&) {
      Tensor full = zeros(input_sizes, {.dtype = grad.dtype(), .device = grad.device()});
      select(full, dim, index).copy_(grad);
      return std::vector<Tensor>{full};
    });
  }
  return out;
}

Tensor expand(const Tensor& input, const Shape& sizes) {
  detail::check_defined("expand", input);
  const std::int64_t ndim = static_cast<std::int64_t>(sizes.size());
  const std::int64_t lead = ndim - input.dim();
  EMBER_CHECK(lead >= 0, "expand: cannot expand shape ", to_string(input.sizes()), " to fewer dims ",
              to_string(sizes));
  Shape out_sizes(ndim), out_strides(ndim, 0);
  for (std::int64_t d = 0; d < ndim; ++d) {
    if (d < lead) {
      EMBER_CHECK(sizes[d] >= 0, "expand: new leading dim ", d, " of ", to_string(sizes), " must be >= 0");
      out_sizes[d] = sizes[d];
      continue;
    }
    const std::int64_t own = input.sizes()[d - lead];
    const std::int64_t want = sizes[d] == -1 ? own : sizes[d];
    EMBER_CHECK(own == want || own == 1, "expand: shape ", to_string(input.sizes()), " cannot be expanded to ",
                to_string(sizes), " (dim ", d, ": ", own, " vs ", want, ")");
    out_sizes[d] = want;
    out_strides[d] = own == want ? input.strides()[d - lead] : 0;
  }
  Tensor out = make_view(input, out_sizes, out_strides, input.storage_offset());
  if (needs_grad(input)) {
    record_op("expand", out, {input}, [input_sizes = input.sizes()](const Tensor& grad, const Node&) {
      return std::vector<Tensor>{detail::sum_to(grad, input_sizes)};
    });
  }
  return out;
}

Tensor squeeze(const Tensor& input) {
  detail::check_defined("squeeze", input);
  Shape sizes, strides;
  for (std::int64_t d = 0; d < input.dim(); ++d) {
    if (input.sizes()[d] == 1) continue;
    sizes.push_back(input.sizes()[d]);
    strides.push_back(input.strides()[d]);
  }
  return reshaping_view("squeeze", input, sizes, strides);
}

Tensor squeeze(const Tensor& input, std::int64_t dim) {
  detail::check_defined("squeeze", input);
  if (input.dim() == 0) return reshaping_view("squeeze", input, {}, {});
  dim = normalize_dim("squeeze", dim, input.dim());
  if (input.sizes()[dim] != 1) return reshaping_view("squeeze", input, input.sizes(), input.strides());
  Shape sizes = input.sizes(), strides = input.strides();
  sizes.erase(sizes.begin() + dim);
  strides.erase(strides.begin() + dim);
  return reshaping_view("squeeze", input, sizes, strides);
}

Tensor unsqueeze(const Tensor& input, std::int64_t dim) {
  detail::check_defined("unsqueeze", input);
  dim = normalize_dim("unsqueeze", dim, input.dim() + 1);
  Shape sizes = input.sizes(), strides = input.strides();
  const std::int64_t stride = dim < input.dim() ? sizes[dim] * strides[dim] : 1;
  sizes.insert(sizes.begin() + dim, 1);
  strides.insert(strides.begin() + dim, stride);
  return reshaping_view("unsqueeze", input, sizes, strides);
}

Tensor flatten(const Tensor& input, std::int64_t start_dim, std::int64_t end_dim) {
  detail::check_defined("flatten", input);
  if (input.dim() == 0) return reshape(input, {1});
  start_dim = normalize_dim("flatten", start_dim, input.dim());
  end_dim = normalize_dim("flatten", end_dim, input.dim());
  EMBER_CHECK(start_dim <= end_dim, "flatten: start_dim ", start_dim, " comes after end_dim ", end_dim);
  Shape sizes(input.sizes().begin(), input.sizes().begin() + start_dim);
  std::int64_t merged = 1;
  for (std::int64_t d = start_dim; d <= end_dim; ++d) merged *= input.sizes()[d];
  sizes.push_back(merged);
  sizes.insert(sizes.end(), input.sizes().begin() + end_dim + 1, input.sizes().end());
  return reshape(input, sizes);
}

}  // namespace ember
