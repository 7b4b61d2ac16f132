#include "nn/embedding.h"

#include "core/ops.h"

namespace ember::nn {

Embedding::Embedding(std::int64_t num_embeddings, std::int64_t embedding_dim) {
  EMBER_CHECK(num_embeddings > 0 && embedding_dim > 0, "Embedding: sizes must be positive, got ", num_embeddings,
              " x ", embedding_dim);
  weight = register_parameter("weight", randn({num_embeddings, embedding_dim}));
}

Tensor Embedding::forward(const Tensor& indices) {
  Shape sizes = indices.sizes();
  sizes.push_back(weight.size(1));
  return index_select(weight, 0, indices.reshape({-1})).reshape(sizes);
}

}  // namespace ember::nn
