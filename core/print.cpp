// operator<< for Tensor: a repr in PyTorch's style.
#include <cmath>
#include <iomanip>
#include <ostream>
#include <sstream>

#include "core/autograd/node.h"
#include "core/tensor.h"

namespace ember {

namespace {

constexpr std::int64_t kSummarizeAbove = 1000;  // like torch's print threshold
constexpr std::int64_t kEdgeItems = 3;

struct Format {
  bool floating;
  bool all_integral;  // floats that are all whole numbers print as "1."
  bool boolean;
};

std::string format_value(double value, const Format& format) {
  if (format.boolean) return value != 0 ? "True" : "False";
  if (!format.floating) return std::to_string(static_cast<long long>(value));
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  std::ostringstream out;
  if (format.all_integral) {
    out << std::fixed << std::setprecision(0) << value << '.';
  } else {
    out << std::fixed << std::setprecision(4) << value;
  }
  return out.str();
}

void print_dim(std::ostream& out, const std::vector<double>& values, const Shape& sizes, std::size_t dim,
               std::int64_t offset, std::int64_t stride, const Format& format, bool summarize, int indent) {
  out << '[';
  const std::int64_t size = sizes[dim];
  const std::int64_t inner = stride / std::max<std::int64_t>(size, 1);
  for (std::int64_t i = 0; i < size; ++i) {
    if (summarize && size > 2 * kEdgeItems && i == kEdgeItems) {
      out << (dim + 1 == sizes.size() ? "..., " : "...,\n" + std::string(indent + 1, ' '));
      i = size - kEdgeItems;
    }
    if (dim + 1 == sizes.size()) {
      out << format_value(values[offset + i], format);
    } else {
      print_dim(out, values, sizes, dim + 1, offset + i * inner, inner, format, summarize, indent + 1);
    }
    if (i + 1 < size) out << (dim + 1 == sizes.size() ? ", " : ",\n" + std::string(sizes.size() - dim - 2, '\n') +
                                                                     std::string(indent + 1, ' '));
  }
  out << ']';
}

}  // namespace

std::ostream& operator<<(std::ostream& out, const Tensor& tensor) {
  if (!tensor.defined()) return out << "tensor(undefined)";
  const std::vector<double> values = tensor.to_vector<double>();
  Format format{is_floating(tensor.dtype()), true, tensor.dtype() == DType::b8};
  for (double v : values) format.all_integral = format.all_integral && std::isfinite(v) && v == std::floor(v);
  out << "tensor(";
  if (tensor.dim() == 0) {
    out << format_value(values[0], format);
  } else {
    print_dim(out, values, tensor.sizes(), 0, 0, tensor.numel(), format, tensor.numel() > kSummarizeAbove, 7);
  }
  const bool default_dtype = tensor.dtype() == DType::f32 || tensor.dtype() == DType::i64 || tensor.dtype() == DType::b8;
  if (!default_dtype) out << ", dtype=" << tensor.dtype();
  if (!tensor.device().is_cpu()) out << ", device='" << tensor.device() << "'";
  if (tensor.grad_fn()) {
    out << ", grad_fn=<" << tensor.grad_fn()->name() << ">";
  } else if (tensor.requires_grad()) {
    out << ", requires_grad=True";
  }
  return out << ')';
}

}  // namespace ember
