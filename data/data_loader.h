#pragma once
// DataLoader: cuts a dataset into batches and loads them on worker threads.
//
// Each pass (one epoch) orders the indices with the sampler (seed + epoch when shuffling), cuts
// them into batches, and has `num_workers` threads run get() + collate ahead of the consumer,
// at most num_workers * prefetch_factor batches ahead. Batches come back in order, and are the
// same for any num_workers: every example draws its randomness from its own generator, seeded
// by (seed, epoch, index). An exception in a worker is rethrown to the consumer, naming the
// sample index. With pin_memory the workers also pin each batch.
#include <cstdint>
#include <memory>

#include "data/batch_sampler.h"
#include "data/collate.h"
#include "data/dataset.h"
#include "data/sampler.h"

namespace ember::data {

struct DataLoaderOptions {
  std::int64_t batch_size = 1;
  bool shuffle = false;
  bool drop_last = false;    // drop a last, smaller batch
  int num_workers = 0;       // 0: load on the calling thread
  int prefetch_factor = 2;   // batches in flight per worker
  std::uint64_t seed = 0;    // for shuffling and per-example randomness
  CollateFn collate = default_collate;
  bool pin_memory = false;   // page-locked batches, for fast copies to a GPU (data/pin_memory.h)
  // The index order; null: RandomSampler(seed) with shuffle, else SequentialSampler.
  std::shared_ptr<const Sampler> sampler = nullptr;
  // The batches themselves (e.g. a BucketBatchSampler); as in PyTorch it replaces batch_size,
  // shuffle, sampler and drop_last, which must keep their defaults. Null: the sampler's order
  // cut into batches of batch_size.
  std::shared_ptr<const BatchSampler> batch_sampler = nullptr;
};

class DataLoader {
 public:
  DataLoader(std::shared_ptr<const Dataset> dataset, DataLoaderOptions options);
  ~DataLoader();
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  // Batches per epoch.
  std::int64_t size() const;
  // The epoch the next pass uses; each begin() uses it and then advances it by one.
  std::int64_t epoch() const { return epoch_; }
  void set_epoch(std::int64_t epoch) { epoch_ = epoch; }
  // The next pass starts at batch `batch` of its epoch, the batches before it neither loaded nor
  // returned (a resume in the middle of an epoch: they are the batches the run had trained on).
  // Later passes start at 0. The batches are a function of (seed, epoch, index), so the rest of
  // the epoch comes out as it would have.
  void set_start_batch(std::int64_t batch);
  const DataLoaderOptions& options() const { return options_; }
  // Replace the sampler, or the batch sampler of a loader made with one, from the next pass on:
  // the Trainer shards a loader for data-parallel training so (Lightning's use_distributed_sampler).
  void set_sampler(std::shared_ptr<const Sampler> sampler);
  void set_batch_sampler(std::shared_ptr<const BatchSampler> batch_sampler);

  class Pass;
  class Iterator {
   public:
    const Batch& operator*() const { return batch_; }
    const Batch* operator->() const { return &batch_; }
    Iterator& operator++();
    bool operator==(const Iterator& other) const { return finished_ == other.finished_; }

   private:
    friend class DataLoader;
    std::shared_ptr<Pass> pass_;  // shared by the copies of this iterator; the pass ends with the last
    Batch batch_;
    bool finished_ = true;
  };
  // Starts a pass over the next epoch and returns its first batch. Each pass belongs to its
  // iterators and stops its workers when the last of them goes (a loop left early ends it then):
  // two passes of one loader may run at once, as two iterators of a PyTorch DataLoader do (the
  // same loader given for training and validation, say).
  Iterator begin();
  Iterator end() { return Iterator(); }

 private:
  std::shared_ptr<const Dataset> dataset_;
  DataLoaderOptions options_;
  std::int64_t start_batch_ = 0;  // of the next pass only
  std::int64_t epoch_ = 0;
};

// The generator example `index` of `epoch` draws from (what a Dataset's get() receives).
Generator example_generator(std::uint64_t seed, std::int64_t epoch, std::int64_t index);

}  // namespace ember::data
