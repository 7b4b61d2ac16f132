#include "data/collate.h"

#include "core/autograd/grad_mode.h"
#include "core/ops.h"

namespace ember::data {

namespace {

Tensor stack_position(const std::vector<Example>& examples, std::size_t position) {
  std::vector<Tensor> items;
  for (std::size_t i = 0; i < examples.size(); ++i) {
    EMBER_CHECK(position < examples[i].size(), "collate: example ", i, " has ", examples[i].size(),
                " tensors, example 0 has ", examples[0].size());
    EMBER_CHECK(examples[i][position].sizes() == examples[0][position].sizes(), "collate: tensor ", position,
                " of example ", i, " has shape ", to_string(examples[i][position].sizes()), ", example 0 has ",
                to_string(examples[0][position].sizes()), " (ragged inputs need a custom collate, e.g. pad_collate)");
    items.push_back(examples[i][position]);
  }
  return stack(items, 0);
}

}  // namespace

Batch default_collate(const std::vector<Example>& examples) {
  EMBER_CHECK(!examples.empty(), "collate: got no examples");
  NoGradGuard no_grad;
  Batch batch;
  for (std::size_t position = 0; position < examples[0].size(); ++position) {
    batch.push_back(stack_position(examples, position));
  }
  return batch;
}

Batch pad_collate(const std::vector<Example>& examples) {
  EMBER_CHECK(!examples.empty(), "pad_collate: got no examples");
  NoGradGuard no_grad;
  const Tensor& first = examples[0].at(0);
  EMBER_CHECK(first.dim() == 3, "pad_collate: position 0 must hold [C, H, W] images, got ", describe(first));
  std::int64_t height = 0, width = 0;
  for (const Example& example : examples) {
    const Tensor& image = example.at(0);
    EMBER_CHECK(image.dim() == 3 && image.size(0) == first.size(0) && image.dtype() == first.dtype(),
                "pad_collate: images must share channels and dtype; got ", describe(image), " and ", describe(first));
    height = std::max(height, image.size(1));
    width = std::max(width, image.size(2));
  }
  const auto n = static_cast<std::int64_t>(examples.size());
  Tensor images = zeros({n, first.size(0), height, width}, {.dtype = first.dtype()});
  Tensor mask = zeros({n, height, width}, {.dtype = DType::b8});
  Tensor sizes = empty({n, 2}, {.dtype = DType::i64});
  for (std::int64_t i = 0; i < n; ++i) {
    const Tensor& image = examples[static_cast<std::size_t>(i)][0];
    const std::int64_t h = image.size(1), w = image.size(2);
    images.select(0, i).slice(1, 0, h).slice(2, 0, w).copy_(image);
    mask.select(0, i).slice(0, 0, h).slice(1, 0, w).fill_(1);
    sizes.data<std::int64_t>()[2 * i] = h;
    sizes.data<std::int64_t>()[2 * i + 1] = w;
  }
  Batch batch{images, mask, sizes};
  for (std::size_t position = 1; position < examples[0].size(); ++position) {
    batch.push_back(stack_position(examples, position));
  }
  return batch;
}

}  // namespace ember::data
