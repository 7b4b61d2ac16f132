#pragma once
// multi_tensor_apply(): launches one kernel over the chunks of many tensors. The tensors'
// pointers and a block -> (tensor, chunk) table travel in the kernel's parameters (no device
// copy of a pointer table), up to kMaxTensors tensors and kMaxBlocks chunks per launch; longer
// lists take several launches.
#include <array>
#include <cstdint>
#include <vector>

#include "kernels/cuda/check.h"
#include "kernels/cuda/stream.h"

namespace ember::kernels::cuda {

constexpr int kMaxTensors = 24;
constexpr int kMaxBlocks = 320;
constexpr std::int64_t kChunk = 16384;  // elements per block
constexpr int kMultiTensorThreads = 512;

template <int Pointers>
struct TensorChunks {
  void* pointers[Pointers][kMaxTensors];
  std::int64_t sizes[kMaxTensors];
  unsigned char block_tensor[kMaxBlocks];
  int block_chunk[kMaxBlocks];
};

// Calls launch(chunks, blocks) for each batch of chunks; `pointers[k][t]` is tensor t's k-th buffer.
template <int Pointers, class Launch>
void multi_tensor_apply(const std::vector<std::array<void*, Pointers>>& pointers, const std::vector<std::int64_t>& sizes,
                        Launch&& launch) {
  TensorChunks<Pointers> chunks{};
  int tensors = 0, blocks = 0;
  for (std::size_t t = 0; t < pointers.size(); ++t) {
    if (sizes[t] == 0) continue;
    for (int k = 0; k < Pointers; ++k) chunks.pointers[k][tensors] = pointers[t][k];
    chunks.sizes[tensors] = sizes[t];
    const std::int64_t count = (sizes[t] + kChunk - 1) / kChunk;
    for (std::int64_t c = 0; c < count; ++c) {
      chunks.block_tensor[blocks] = static_cast<unsigned char>(tensors);
      chunks.block_chunk[blocks] = static_cast<int>(c);
      ++blocks;
      const bool last_chunk = c + 1 == count;
      if (blocks == kMaxBlocks || (last_chunk && tensors + 1 == kMaxTensors)) {
        launch(chunks, blocks);
        EMBER_CUDA_CHECK_LAUNCH();
        blocks = 0;
        // A tensor cut in the middle continues as tensor 0 of the next launch.
        if (!last_chunk) {
          for (int k = 0; k < Pointers; ++k) chunks.pointers[k][0] = chunks.pointers[k][tensors];
          chunks.sizes[0] = chunks.sizes[tensors];
          tensors = 0;
        } else {
          tensors = -1;
        }
      }
    }
    ++tensors;
  }
  if (blocks > 0) {
    launch(chunks, blocks);
    EMBER_CUDA_CHECK_LAUNCH();
  }
}

}  // namespace ember::kernels::cuda
