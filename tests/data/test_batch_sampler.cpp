// Batch samplers: chunked, bucketed by length, sharded across ranks; and a DataLoader using one.
#include <algorithm>
#include <numeric>

#include "data/batch_sampler.h"
#include "data/data_loader.h"
#include "helpers.h"

using namespace ember;
using namespace ember::testing;
using data::BucketBatchSampler;
using data::IndexBatches;

namespace {

// Lengths that are a scrambled 0..n-1 (times 10): every length differs, so sorted order is unique.
std::vector<std::int64_t> scrambled_lengths(std::int64_t n) {
  std::vector<std::int64_t> lengths;
  for (std::int64_t i = 0; i < n; ++i) lengths.push_back((i * 37 % n) * 10);
  return lengths;
}

std::vector<std::int64_t> flatten(const IndexBatches& batches) {
  std::vector<std::int64_t> all;
  for (const auto& batch : batches) all.insert(all.end(), batch.begin(), batch.end());
  return all;
}

// The padding a batch of these lengths needs, summed: (longest - each) over every member.
std::int64_t padding(const IndexBatches& batches, const std::vector<std::int64_t>& lengths) {
  std::int64_t total = 0;
  for (const auto& batch : batches) {
    std::int64_t longest = 0;
    for (std::int64_t i : batch) longest = std::max(longest, lengths[static_cast<std::size_t>(i)]);
    for (std::int64_t i : batch) total += longest - lengths[static_cast<std::size_t>(i)];
  }
  return total;
}

}  // namespace

TEST_CASE("ChunkBatchSampler cuts the sampler's order like the DataLoader always did") {
  const data::ChunkBatchSampler chunks(std::make_shared<data::SequentialSampler>(), 4);
  CHECK(chunks.batches(10, 0) == IndexBatches{{0, 1, 2, 3}, {4, 5, 6, 7}, {8, 9}});
  CHECK(chunks.length(10) == 3);
  const data::ChunkBatchSampler dropping(std::make_shared<data::SequentialSampler>(), 4, /*drop_last=*/true);
  CHECK(dropping.batches(10, 0).size() == 2);
  CHECK(dropping.length(10) == 2);
}

TEST_CASE("BucketBatchSampler without shuffle: the dataset sorted by length, cut into batches") {
  // Lengths 30, 10, 20, 0, 40 -> sorted indices 3, 1, 2, 0, 4.
  const BucketBatchSampler sampler({30, 10, 20, 0, 40}, {.batch_size = 2, .shuffle = false});
  CHECK(sampler.batches(5, 0) == IndexBatches{{3, 1}, {2, 0}, {4}});
  CHECK(sampler.batches(5, 7) == sampler.batches(5, 0));  // no shuffle: every epoch alike
  CHECK(sampler.length(5) == 3);
  const BucketBatchSampler dropping({30, 10, 20, 0, 40}, {.batch_size = 2, .shuffle = false, .drop_last = true});
  CHECK(dropping.batches(5, 0) == IndexBatches{{3, 1}, {2, 0}});
  CHECK(dropping.length(5) == 2);
}

TEST_CASE("BucketBatchSampler with shuffle: each example once, neighbours in length, new batches every epoch") {
  const std::int64_t n = 203;
  const std::vector<std::int64_t> lengths = scrambled_lengths(n);
  const BucketBatchSampler sampler(lengths, {.batch_size = 8, .seed = 3, .pool_batches = 5});
  // Pools of 40 make 5 batches each; the last pool of 3 one more: 26 batches.
  CHECK(sampler.length(n) == 26);
  for (std::int64_t epoch = 0; epoch < 3; ++epoch) {
    const IndexBatches batches = sampler.batches(n, epoch);
    CHECK(static_cast<std::int64_t>(batches.size()) == sampler.length(n));
    std::vector<std::int64_t> all = flatten(batches);
    std::sort(all.begin(), all.end());
    std::vector<std::int64_t> expected(static_cast<std::size_t>(n));
    std::iota(expected.begin(), expected.end(), 0);
    CHECK(all == expected);
  }
  CHECK(sampler.batches(n, 1) == sampler.batches(n, 1));  // seed + epoch fix the draw
  CHECK(sampler.batches(n, 1) != sampler.batches(n, 2));
  // Batching the same epoch's order without sorting (pools of one batch are unsorted runs of
  // a random order) pads several times more than pools of 5 batches, and sorting the whole
  // dataset (pool_batches = 0) pads least.
  const BucketBatchSampler unsorted(lengths, {.batch_size = 8, .seed = 3, .pool_batches = 1});
  const BucketBatchSampler global(lengths, {.batch_size = 8, .seed = 3, .pool_batches = 0});
  const std::int64_t random_padding = padding(unsorted.batches(n, 0), lengths);
  const std::int64_t pooled_padding = padding(sampler.batches(n, 0), lengths);
  const std::int64_t sorted_padding = padding(global.batches(n, 0), lengths);
  CHECK(pooled_padding * 3 < random_padding);
  CHECK(sorted_padding < pooled_padding);
  // Sorted globally, a batch of 8 consecutive lengths (0, 10, ..., 70) pads 10 * (7 + 6 + ... + 0)
  // = 280; 25 full batches and the last 3 (pads 10 * (2 + 1 + 0) = 30).
  CHECK(sorted_padding == 25 * 280 + 30);
}

TEST_CASE("BucketBatchSampler errors") {
  CHECK(contains(error_of([] { BucketBatchSampler({1, 2}, {.batch_size = 0}); }), "batch_size must be at least 1"));
  CHECK(contains(error_of([] {
                   BucketBatchSampler({1, 2}, {}).batches(3, 0);
                 }),
                 "it has 2 lengths, but the dataset has 3 examples"));
}

TEST_CASE("DistributedBatchSampler: ranks share the batches, padded to equal shares for training") {
  const auto base = std::make_shared<data::ChunkBatchSampler>(std::make_shared<data::SequentialSampler>(), 2);
  // 7 examples -> batches {0,1} {2,3} {4,5} {6}; 3 ranks take 0 3 | 1 (0) | 2 (1): padded by
  // repeating the first batches.
  const data::DistributedBatchSampler rank0(base, 3, 0), rank1(base, 3, 1), rank2(base, 3, 2);
  CHECK(rank0.batches(7, 0) == IndexBatches{{0, 1}, {6}});
  CHECK(rank1.batches(7, 0) == IndexBatches{{2, 3}, {0, 1}});
  CHECK(rank2.batches(7, 0) == IndexBatches{{4, 5}, {2, 3}});
  CHECK((rank0.length(7) == 2 && rank1.length(7) == 2 && rank2.length(7) == 2));
  // Without padding every batch is seen once; the shares differ by one.
  const data::DistributedBatchSampler exact1(base, 3, 1, /*pad=*/false);
  CHECK(exact1.batches(7, 0) == IndexBatches{{2, 3}});
  CHECK(exact1.length(7) == 1);
  CHECK(contains(error_of([&] { data::DistributedBatchSampler(base, 2, 2); }), "rank 2 is not one of 2 replicas"));
}

TEST_CASE("a DataLoader with a batch sampler loads its batches, the same for any worker count") {
  const Tensor values = arange(0, 12, 1, {.dtype = DType::f32});
  const auto dataset = std::make_shared<data::TensorDataset>(std::vector<Tensor>{values});
  const auto sampler = std::make_shared<BucketBatchSampler>(
      scrambled_lengths(12), data::BucketBatchSamplerOptions{.batch_size = 5, .seed = 1});
  const IndexBatches expected = sampler->batches(12, 0);
  for (const int workers : {0, 2}) {
    data::DataLoader loader(dataset, {.num_workers = workers, .batch_sampler = sampler});
    CHECK(loader.size() == 3);
    IndexBatches seen;
    for (const data::Batch& batch : loader) {
      std::vector<std::int64_t> indices;
      for (double v : batch[0].to_vector<double>()) indices.push_back(static_cast<std::int64_t>(v));
      seen.push_back(indices);
    }
    CHECK(seen == expected);
  }
  CHECK(contains(error_of([&] { data::DataLoader(dataset, {.batch_size = 4, .batch_sampler = sampler}); }),
                 "batch_sampler is mutually exclusive with batch_size, shuffle, sampler and drop_last"));
  data::DataLoader plain(dataset, {.batch_size = 4});
  CHECK(contains(error_of([&] { plain.set_batch_sampler(sampler); }), "cuts batches of batch_size from a sampler"));
  data::DataLoader bucketed(dataset, {.batch_sampler = sampler});
  CHECK(contains(error_of([&] { bucketed.set_sampler(std::make_shared<data::SequentialSampler>()); }),
                 "use set_batch_sampler"));
}
