#pragma once
// nn::Embedding: a lookup table of num_embeddings vectors of size embedding_dim, N(0, 1) init.
#include <optional>

#include "nn/module.h"

namespace ember::nn {

class Embedding : public Module {
 public:
  // padding_idx, as PyTorch's: that row starts at zero and gets no gradient (the embedding of a
  // padding token stays what it is).
  Embedding(std::int64_t num_embeddings, std::int64_t embedding_dim,
            std::optional<std::int64_t> padding_idx = std::nullopt);
  // indices: i64 of any shape -> [..., embedding_dim].
  Tensor forward(const Tensor& indices) override;
  std::string type_name() const override { return "Embedding"; }
  Tensor weight;  // [num_embeddings, embedding_dim]
  std::optional<std::int64_t> padding_idx;
};

}  // namespace ember::nn
