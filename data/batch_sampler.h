#pragma once
// Batch samplers: the batches a DataLoader loads each epoch, as lists of dataset indices
// (PyTorch's batch_sampler argument). By default a loader cuts its sampler's order into runs of
// batch_size (ChunkBatchSampler); a BucketBatchSampler instead puts examples of similar length
// together, so that a batch of ragged examples padded to its longest wastes little.
#include <cstdint>
#include <memory>
#include <vector>

#include "data/sampler.h"

namespace ember::data {

using IndexBatches = std::vector<std::vector<std::int64_t>>;

class BatchSampler {
 public:
  virtual ~BatchSampler() = default;
  // Epoch `epoch`'s batches over a dataset of `dataset_size` examples.
  virtual IndexBatches batches(std::int64_t dataset_size, std::int64_t epoch) const = 0;
  // How many batches one epoch has.
  virtual std::int64_t length(std::int64_t dataset_size) const = 0;
};

// The sampler's order cut into consecutive batches of batch_size; the last is shorter unless
// drop_last drops it (PyTorch's BatchSampler).
class ChunkBatchSampler : public BatchSampler {
 public:
  ChunkBatchSampler(std::shared_ptr<const Sampler> sampler, std::int64_t batch_size, bool drop_last = false);
  IndexBatches batches(std::int64_t dataset_size, std::int64_t epoch) const override;
  std::int64_t length(std::int64_t dataset_size) const override;

 private:
  std::shared_ptr<const Sampler> sampler_;
  std::int64_t batch_size_;
  bool drop_last_;
};

// Batches of examples of similar length (for images, their width). Each epoch, with shuffle:
// the indices are permuted (seed + epoch), cut into pools of pool_batches * batch_size, each pool
// is sorted by length and cut into batches, and the order of all batches is permuted again. So
// a batch holds neighbours in length, while which examples meet and in which order the batches
// come changes every epoch. Without shuffle the whole dataset is one pool in index order (the
// same batches every epoch). pool_batches = 0 sorts the whole dataset as one pool: the least
// padding, but the same batch compositions every epoch (only their order shuffled).
struct BucketBatchSamplerOptions {
  std::int64_t batch_size = 1;
  bool shuffle = true;
  std::uint64_t seed = 0;
  std::int64_t pool_batches = 50;
  bool drop_last = false;  // drop each pool's last, smaller batch
};

class BucketBatchSampler : public BatchSampler {
 public:
  // lengths[i]: the length of example i (the dataset's size is lengths.size()).
  BucketBatchSampler(std::vector<std::int64_t> lengths, BucketBatchSamplerOptions options);
  IndexBatches batches(std::int64_t dataset_size, std::int64_t epoch) const override;
  std::int64_t length(std::int64_t dataset_size) const override;

 private:
  std::int64_t pool_size() const;
  std::vector<std::int64_t> lengths_;
  BucketBatchSamplerOptions options_;
};

// One rank's share of another batch sampler's batches in data-parallel training: the epoch's
// batches (the same on every rank, as the base draws them from seed + epoch) padded by
// repeating the first ones until every rank gets as many, and rank r takes batches r, r + R,
// r + 2R, ... Without padding (evaluation), the shares may differ by one and no batch is seen
// twice. This is how the Trainer shards a loader with a batch sampler of its own.
class DistributedBatchSampler : public BatchSampler {
 public:
  DistributedBatchSampler(std::shared_ptr<const BatchSampler> base, int num_replicas, int rank, bool pad = true);
  IndexBatches batches(std::int64_t dataset_size, std::int64_t epoch) const override;
  std::int64_t length(std::int64_t dataset_size) const override;

 private:
  std::int64_t total(std::int64_t dataset_size) const;
  std::shared_ptr<const BatchSampler> base_;
  int num_replicas_, rank_;
  bool pad_;
};

}  // namespace ember::data
