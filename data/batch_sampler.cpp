#include "data/batch_sampler.h"

#include <algorithm>
#include <numeric>

#include "core/error.h"
#include "core/generator.h"
#include "core/ops/factory.h"

namespace ember::data {

namespace {

// How many batches `count` examples make.
std::int64_t batch_count(std::int64_t count, std::int64_t batch_size, bool drop_last) {
  return drop_last ? count / batch_size : (count + batch_size - 1) / batch_size;
}

// `order` cut into consecutive batches.
void append_batches(const std::vector<std::int64_t>& order, std::size_t first, std::size_t last,
                    std::int64_t batch_size, bool drop_last, IndexBatches& out) {
  const auto size = static_cast<std::size_t>(batch_size);
  for (std::size_t begin = first; begin < last; begin += size) {
    const std::size_t end = std::min(last, begin + size);
    if (drop_last && end - begin < size) break;
    out.emplace_back(order.begin() + static_cast<std::ptrdiff_t>(begin),
                     order.begin() + static_cast<std::ptrdiff_t>(end));
  }
}

}  // namespace

ChunkBatchSampler::ChunkBatchSampler(std::shared_ptr<const Sampler> sampler, std::int64_t batch_size, bool drop_last)
    : sampler_(std::move(sampler)), batch_size_(batch_size), drop_last_(drop_last) {
  EMBER_CHECK(sampler_ != nullptr, "ChunkBatchSampler: got no sampler");
  EMBER_CHECK(batch_size_ >= 1, "ChunkBatchSampler: batch_size must be at least 1, got ", batch_size_);
}

IndexBatches ChunkBatchSampler::batches(std::int64_t dataset_size, std::int64_t epoch) const {
  const std::vector<std::int64_t> order = sampler_->indices(dataset_size, epoch);
  IndexBatches out;
  append_batches(order, 0, order.size(), batch_size_, drop_last_, out);
  return out;
}

std::int64_t ChunkBatchSampler::length(std::int64_t dataset_size) const {
  return batch_count(sampler_->length(dataset_size), batch_size_, drop_last_);
}

BucketBatchSampler::BucketBatchSampler(std::vector<std::int64_t> lengths, BucketBatchSamplerOptions options)
    : lengths_(std::move(lengths)), options_(options) {
  EMBER_CHECK(options_.batch_size >= 1, "BucketBatchSampler: batch_size must be at least 1, got ", options_.batch_size);
  EMBER_CHECK(options_.pool_batches >= 0, "BucketBatchSampler: pool_batches must be >= 0, got ", options_.pool_batches);
}

std::int64_t BucketBatchSampler::pool_size() const {
  const auto n = static_cast<std::int64_t>(lengths_.size());
  if (!options_.shuffle || options_.pool_batches == 0) return std::max<std::int64_t>(n, 1);
  return options_.pool_batches * options_.batch_size;
}

IndexBatches BucketBatchSampler::batches(std::int64_t dataset_size, std::int64_t epoch) const {
  EMBER_CHECK(dataset_size == static_cast<std::int64_t>(lengths_.size()), "BucketBatchSampler: it has ",
              lengths_.size(), " lengths, but the dataset has ", dataset_size, " examples");
  Generator generator(options_.seed + static_cast<std::uint64_t>(epoch));
  std::vector<std::int64_t> order(static_cast<std::size_t>(dataset_size));
  if (options_.shuffle) {
    order = randperm(dataset_size, generator).to_vector<std::int64_t>();
  } else {
    std::iota(order.begin(), order.end(), std::int64_t{0});
  }
  const auto pool = static_cast<std::size_t>(pool_size());
  IndexBatches out;
  for (std::size_t first = 0; first < order.size(); first += pool) {
    const std::size_t last = std::min(order.size(), first + pool);
    // Stable: equal lengths keep the pool's (random) order.
    std::stable_sort(order.begin() + static_cast<std::ptrdiff_t>(first),
                     order.begin() + static_cast<std::ptrdiff_t>(last), [&](std::int64_t a, std::int64_t b) {
                       return lengths_[static_cast<std::size_t>(a)] < lengths_[static_cast<std::size_t>(b)];
                     });
    append_batches(order, first, last, options_.batch_size, options_.drop_last, out);
  }
  if (!options_.shuffle) return out;
  const std::vector<std::int64_t> batch_order =
      randperm(static_cast<std::int64_t>(out.size()), generator).to_vector<std::int64_t>();
  IndexBatches shuffled;
  for (std::int64_t b : batch_order) shuffled.push_back(std::move(out[static_cast<std::size_t>(b)]));
  return shuffled;
}

std::int64_t BucketBatchSampler::length(std::int64_t dataset_size) const {
  const std::int64_t pool = pool_size();
  std::int64_t total = 0;
  for (std::int64_t first = 0; first < dataset_size; first += pool) {
    total += batch_count(std::min(pool, dataset_size - first), options_.batch_size, options_.drop_last);
  }
  return total;
}

DistributedBatchSampler::DistributedBatchSampler(std::shared_ptr<const BatchSampler> base, int num_replicas, int rank,
                                                 bool pad)
    : base_(std::move(base)), num_replicas_(num_replicas), rank_(rank), pad_(pad) {
  EMBER_CHECK(base_ != nullptr, "DistributedBatchSampler: got no batch sampler");
  EMBER_CHECK(num_replicas >= 1 && rank >= 0 && rank < num_replicas, "DistributedBatchSampler: rank ", rank,
              " is not one of ", num_replicas, " replicas");
}

std::int64_t DistributedBatchSampler::total(std::int64_t dataset_size) const {
  const std::int64_t batches = base_->length(dataset_size);
  return pad_ ? (batches + num_replicas_ - 1) / num_replicas_ * num_replicas_ : batches;
}

IndexBatches DistributedBatchSampler::batches(std::int64_t dataset_size, std::int64_t epoch) const {
  const IndexBatches all = base_->batches(dataset_size, epoch);
  const auto total_batches = static_cast<std::size_t>(total(dataset_size));
  IndexBatches share;
  for (std::size_t b = static_cast<std::size_t>(rank_); b < total_batches && !all.empty();
       b += static_cast<std::size_t>(num_replicas_)) {
    share.push_back(all[b % all.size()]);
  }
  return share;
}

std::int64_t DistributedBatchSampler::length(std::int64_t dataset_size) const {
  const std::int64_t batches = total(dataset_size);
  return batches / num_replicas_ + (rank_ < batches % num_replicas_ ? 1 : 0);
}

}  // namespace ember::data
