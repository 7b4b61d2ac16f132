#pragma once
// Samplers: the order in which a loader visits a dataset's indices, one epoch at a time.
#include <cstdint>
#include <vector>

namespace ember::data {

class Sampler {
 public:
  virtual ~Sampler() = default;
  virtual std::vector<std::int64_t> indices(std::int64_t dataset_size, std::int64_t epoch) const = 0;
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

}  // namespace ember::data
