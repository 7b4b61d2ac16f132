#include "collate.h"

#include "core/ember.h"

namespace well_log {

using ember::Tensor;

ember::data::Batch pad_rasters(const std::vector<ember::data::Example>& examples, std::int64_t multiple) {
  ember::NoGradGuard no_grad;
  std::int64_t height = 0, width = 0;
  for (const auto& example : examples) {
    height = std::max(height, example.at(0).size(1));
    width = std::max(width, example.at(0).size(2));
  }
  auto round_up = [multiple](std::int64_t n) { return (n + multiple - 1) / multiple * multiple; };
  const auto n = static_cast<std::int64_t>(examples.size());
  Tensor images = ember::zeros({n, 1, round_up(height), round_up(width)});
  Tensor labels = ember::full({n, round_up(height), round_up(width)}, kIgnoreIndex, {.dtype = ember::DType::i64});
  Tensor valid = ember::zeros({n, round_up(height), round_up(width)}, {.dtype = ember::DType::b8});
  Tensor sizes = ember::empty({n, 2}, {.dtype = ember::DType::i64});
  for (std::int64_t i = 0; i < n; ++i) {
    const Tensor& image = examples[static_cast<std::size_t>(i)].at(0);
    const std::int64_t h = image.size(1), w = image.size(2);
    images.select(0, i).slice(1, 0, h).slice(2, 0, w).copy_(image);
    labels.select(0, i).slice(0, 0, h).slice(1, 0, w).copy_(examples[static_cast<std::size_t>(i)].at(1));
    valid.select(0, i).slice(0, 0, h).slice(1, 0, w).fill_(1);
    sizes.data<std::int64_t>()[2 * i] = h;
    sizes.data<std::int64_t>()[2 * i + 1] = w;
  }
  return {images, labels, valid, sizes};
}

}  // namespace well_log
