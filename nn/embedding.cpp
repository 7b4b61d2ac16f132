#include "nn/embedding.h"

#include "core/ops.h"

namespace ember::nn {

Embedding::Embedding(std::int64_t num_embeddings, std::int64_t embedding_dim, std::optional<std::int64_t> padding_idx)
    : padding_idx(padding_idx) {
  EMBER_CHECK(num_embeddings > 0 && embedding_dim > 0, "Embedding: sizes must be positive, got ", num_embeddings,
              " x ", embedding_dim);
  if (padding_idx) {
    EMBER_CHECK(*padding_idx >= -num_embeddings && *padding_idx < num_embeddings, "Embedding: padding_idx ",
                *padding_idx, " must be within the ", num_embeddings, " embeddings");
    if (*padding_idx < 0) this->padding_idx = *padding_idx + num_embeddings;
  }
  Tensor table = randn({num_embeddings, embedding_dim});
  if (this->padding_idx) table.select(0, *this->padding_idx).zero_();
  weight = register_parameter("weight", table);
}

Tensor Embedding::forward(const Tensor& indices) { return embedding(weight, indices, padding_idx); }

}  // namespace ember::nn
