#include "data/sampler.h"

#include <algorithm>
#include <numeric>

#include "core/error.h"
#include "core/generator.h"
#include "core/ops/factory.h"

namespace ember::data {

std::vector<std::int64_t> SequentialSampler::indices(std::int64_t dataset_size, std::int64_t) const {
  std::vector<std::int64_t> order(static_cast<std::size_t>(dataset_size));
  std::iota(order.begin(), order.end(), std::int64_t{0});
  return order;
}

std::vector<std::int64_t> RandomSampler::indices(std::int64_t dataset_size, std::int64_t epoch) const {
  Generator generator(seed_ + static_cast<std::uint64_t>(epoch));
  return randperm(dataset_size, generator).to_vector<std::int64_t>();
}

DistributedSampler::DistributedSampler(int num_replicas, int rank, DistributedSamplerOptions options)
    : num_replicas_(num_replicas), rank_(rank), options_(options) {
  EMBER_CHECK(num_replicas >= 1 && rank >= 0 && rank < num_replicas, "DistributedSampler: rank ", rank,
              " is not one of ", num_replicas, " replicas");
}

std::int64_t DistributedSampler::total_size(std::int64_t dataset_size) const {
  const std::int64_t replicas = num_replicas_;
  if (options_.drop_last) return dataset_size / replicas * replicas;
  if (options_.pad) return (dataset_size + replicas - 1) / replicas * replicas;
  return dataset_size;
}

std::int64_t DistributedSampler::length(std::int64_t dataset_size) const {
  const std::int64_t total = total_size(dataset_size);
  return total / num_replicas_ + (rank_ < total % num_replicas_ ? 1 : 0);
}

std::vector<std::int64_t> DistributedSampler::indices(std::int64_t dataset_size, std::int64_t epoch) const {
  std::vector<std::int64_t> order = options_.shuffle ? RandomSampler(options_.seed).indices(dataset_size, epoch)
                                                     : SequentialSampler().indices(dataset_size, epoch);
  const std::size_t total = static_cast<std::size_t>(total_size(dataset_size));
  const std::size_t epoch_size = order.size();
  for (std::size_t i = epoch_size; i < total && epoch_size > 0; ++i) order.push_back(order[i % epoch_size]);
  order.resize(std::min(order.size(), total));
  std::vector<std::int64_t> share;
  for (std::size_t i = static_cast<std::size_t>(rank_); i < order.size(); i += static_cast<std::size_t>(num_replicas_)) {
    share.push_back(order[i]);
  }
  return share;
}

}  // namespace ember::data
