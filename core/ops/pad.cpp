#include "core/ops/pad.h"

#include "core/ops/copy.h"
#include "core/ops/factory.h"
#include "core/ops/indexing.h"
#include "core/ops/join.h"
#include "core/ops/op_utils.h"

namespace ember {

namespace {

// The input position each output position of one padded dim reads, for the modes that copy.
std::vector<std::int64_t> source_positions(std::int64_t size, std::int64_t before, std::int64_t after, PadMode mode) {
  std::vector<std::int64_t> positions;
  positions.reserve(static_cast<std::size_t>(before + size + after));
  for (std::int64_t at = -before; at < size + after; ++at) {
    std::int64_t from = at;
    if (mode == PadMode::reflect) {
      from = at < 0 ? -at : at >= size ? 2 * (size - 1) - at : at;
    } else if (mode == PadMode::replicate) {
      from = at < 0 ? 0 : at >= size ? size - 1 : at;
    } else {  // circular
      from = ((at % size) + size) % size;
    }
    positions.push_back(from);
  }
  return positions;
}

// `input` with `before` and `after` elements of padding along `dim`.
Tensor pad_dim(const Tensor& input, std::int64_t dim, std::int64_t before, std::int64_t after, PadMode mode,
               double value) {
  if (mode == PadMode::constant) {
    const auto block = [&](std::int64_t length) {
      Shape sizes = input.sizes();
      sizes[dim] = length;
      return full(sizes, value, {.dtype = input.dtype(), .device = input.device()});
    };
    std::vector<Tensor> parts;
    if (before > 0) parts.push_back(block(before));
    parts.push_back(input);
    if (after > 0) parts.push_back(block(after));
    return cat(parts, dim);
  }
  // A copy of chosen slices: index_select, whose backward adds each copy into its source.
  const Tensor index = to(from_vector(source_positions(input.size(dim), before, after, mode)), input.device());
  return index_select(input, dim, index);
}

}  // namespace

const char* to_string(PadMode mode) {
  switch (mode) {
    case PadMode::constant: return "constant";
    case PadMode::reflect: return "reflect";
    case PadMode::replicate: return "replicate";
    case PadMode::circular: return "circular";
  }
  return "?";
}

Tensor pad(const Tensor& input, const std::vector<std::int64_t>& padding, PadMode mode, double value) {
  const auto pairs = static_cast<std::int64_t>(padding.size() / 2);
  EMBER_CHECK(padding.size() % 2 == 0 && pairs <= input.dim(), "pad: padding must hold a (before, after) pair per "
              "padded dim, at most one per dim of the input ", describe(input), ", got ", padding.size(), " sizes");
  EMBER_CHECK(mode == PadMode::constant || value == 0, "pad: a fill value is for constant padding only, not ",
              to_string(mode));
  Tensor out = input;
  for (std::int64_t pair = 0; pair < pairs; ++pair) {
    const std::int64_t dim = input.dim() - 1 - pair;
    const std::int64_t before = padding[2 * pair], after = padding[2 * pair + 1], size = input.size(dim);
    EMBER_CHECK(before >= 0 && after >= 0, "pad: padding sizes must be >= 0, got ", before, " and ", after,
                " for dim ", dim, " of ", describe(input));
    if (before == 0 && after == 0) continue;
    const bool fits = mode == PadMode::constant || (mode == PadMode::replicate && size > 0) ||
                      (mode == PadMode::reflect && before < size && after < size) ||
                      (mode == PadMode::circular && before <= size && after <= size);
    EMBER_CHECK(fits, "pad: ", to_string(mode), " padding of ", before, " and ", after, " does not fit dim ", dim,
                " of size ", size, " (input ", describe(input), "): reflect needs padding smaller than the dim, "
                "circular at most the dim, replicate a non-empty dim");
    out = pad_dim(out, dim, before, after, mode, value);
  }
  return out;
}

}  // namespace ember
