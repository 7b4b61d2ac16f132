#pragma once
// Samplers: the order in which a loader visits a dataset's indices, one epoch at a time.
#include <cstdint>
#include <vector>

namespace ember::data {

class Sampler {
 public:
  virtual ~Sampler() = default;
  virtual std::vector<std::int64_t> indices(std::int64_t dataset_size, std::int64_t epoch) const = 0;
  // How many indices one epoch has.
  virtual std::int64_t length(std::int64_t dataset_size) const { return dataset_size; }
};

// 0, 1, 2, ...
class SequentialSampler : public Sampler {
 public:
  std::vector<std::int64_t> indices(std::int64_t dataset_size, std::int64_t epoch) const override;
};

// A permutation drawn from Philox seeded by seed + epoch: the same seed and epoch give the same
// order on any machine, and every epoch a new one.
class RandomSampler : public Sampler {
 public:
  explicit RandomSampler(std::uint64_t seed) : seed_(seed) {}
  std::vector<std::int64_t> indices(std::int64_t dataset_size, std::int64_t epoch) const override;

 private:
  std::uint64_t seed_;
};

// One rank's share of each epoch in data-parallel training (PyTorch's DistributedSampler): the
// epoch's order (a permutation drawn from seed + epoch, the same on every rank, or 0, 1, 2, ...)
// is padded by repeating its start until it splits evenly, and rank r takes positions r,
// r + R, r + 2R, ... So every rank gets the same number of samples, the ranks together see
// every sample, and a few are seen twice. With drop_last the tail is dropped instead of padded;
// with pad = false the ranks' shares may differ by one (exact evaluation: no sample twice).
// The epoch is the DataLoader's (set_epoch), so each epoch shuffles anew.
struct DistributedSamplerOptions {
  bool shuffle = true;
  std::uint64_t seed = 0;
  bool drop_last = false;
  bool pad = true;
};

class DistributedSampler : public Sampler {
 public:
  DistributedSampler(int num_replicas, int rank, DistributedSamplerOptions options = {});
  std::vector<std::int64_t> indices(std::int64_t dataset_size, std::int64_t epoch) const override;
  std::int64_t length(std::int64_t dataset_size) const override;

 private:
  // The epoch's order, cut or padded to the size the replicas share.
  std::int64_t total_size(std::int64_t dataset_size) const;

  int num_replicas_;
  int rank_;
  DistributedSamplerOptions options_;
};

}  // namespace ember::data
