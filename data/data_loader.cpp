#include "data/data_loader.h"

#include <condition_variable>
#include <exception>
#include <map>
#include <mutex>
#include <thread>
#include <utility>
#include <variant>

#include "data/pin_memory.h"
#include "data/sampler.h"

namespace ember::data {

namespace {

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

}  // namespace

Generator example_generator(std::uint64_t seed, std::int64_t epoch, std::int64_t index) {
  // One Philox key per (seed, epoch); each example owns 2^32 counters of it.
  Generator generator;
  generator.set_state(splitmix64(seed ^ splitmix64(static_cast<std::uint64_t>(epoch))),
                      static_cast<std::uint64_t>(index) << 32);
  return generator;
}

namespace {

// The loader's index order: its own sampler, or the one `shuffle` names.
std::shared_ptr<const Sampler> sampler_of(const DataLoaderOptions& options) {
  if (options.sampler) return options.sampler;
  if (options.shuffle) return std::make_shared<RandomSampler>(options.seed);
  return std::make_shared<SequentialSampler>();
}

// The loader's batches: its own batch sampler, or the sampler's order cut into batch_size runs.
std::shared_ptr<const BatchSampler> batch_sampler_of(const DataLoaderOptions& options) {
  if (options.batch_sampler) return options.batch_sampler;
  return std::make_shared<ChunkBatchSampler>(sampler_of(options), options.batch_size, options.drop_last);
}

}  // namespace

// One epoch in flight: its batches' indices, the workers, and the batches they finished.
class DataLoader::Pass {
 public:
  Pass(const Dataset& dataset, const DataLoaderOptions& options, std::int64_t epoch, std::int64_t first_batch)
      : dataset_(dataset),
        options_(options),
        epoch_(epoch),
        pin_(options.pin_memory ? pin_memory_hook() : nullptr),
        batches_(batch_sampler_of(options)->batches(dataset.size(), epoch)) {
    EMBER_CHECK(first_batch >= 0 && static_cast<std::size_t>(first_batch) <= batches_.size(), "DataLoader: start batch ",
                first_batch, " is past the ", batches_.size(), " batches of epoch ", epoch);
    claimed_ = next_ = static_cast<std::size_t>(first_batch);
    for (int i = 0; i < options.num_workers; ++i) workers_.emplace_back([this] { work(); });
  }

  ~Pass() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    room_.notify_all();
    for (std::thread& worker : workers_) worker.join();
  }

  bool has_next() const { return next_ < batches_.size(); }

  Batch next() {
    if (workers_.empty()) return load(next_++);
    std::unique_lock lock(mutex_);
    ready_.wait(lock, [&] { return finished_.count(next_) > 0; });
    auto result = std::move(finished_[next_]);
    finished_.erase(next_);
    ++next_;
    lock.unlock();
    room_.notify_all();
    if (auto* error = std::get_if<std::exception_ptr>(&result)) std::rethrow_exception(*error);
    return std::get<Batch>(std::move(result));
  }

 private:
  // get() for each example of batch `number`, then collate. Errors name the sample index.
  Batch load(std::size_t number) const {
    std::vector<Example> examples;
    for (std::int64_t index : batches_[number]) {
      Generator generator = example_generator(options_.seed, epoch_, index);
      try {
        examples.push_back(dataset_.get(index, generator));
      } catch (const std::exception& error) {
        fail("DataLoader: loading sample ", index, " (batch ", number, ", epoch ", epoch_, ") failed: ", error.what());
      }
    }
    Batch batch;
    try {
      batch = options_.collate(examples);
    } catch (const std::exception& error) {
      fail("DataLoader: collating batch ", number, " (epoch ", epoch_, ") failed: ", error.what());
    }
    if (!pin_) return batch;
    try {
      return pin_(std::move(batch));
    } catch (const std::exception& error) {
      fail("DataLoader: pinning batch ", number, " (epoch ", epoch_, ") failed: ", error.what());
    }
  }

  // A worker claims the next unclaimed batch while the prefetch window has room.
  void work() {
    const std::size_t window = static_cast<std::size_t>(options_.num_workers) *
                               static_cast<std::size_t>(std::max(options_.prefetch_factor, 1));
    while (true) {
      std::size_t number;
      {
        std::unique_lock lock(mutex_);
        room_.wait(lock, [&] { return stop_ || claimed_ >= batches_.size() || claimed_ < next_ + window; });
        if (stop_ || claimed_ >= batches_.size()) return;
        number = claimed_++;
      }
      std::variant<Batch, std::exception_ptr> result;
      try {
        result = load(number);
      } catch (...) {
        result = std::current_exception();
      }
      {
        std::lock_guard lock(mutex_);
        finished_.emplace(number, std::move(result));
      }
      ready_.notify_all();
    }
  }

  const Dataset& dataset_;
  const DataLoaderOptions options_;
  const std::int64_t epoch_;
  const PinMemoryFn pin_;  // empty unless pin_memory and a hook is registered
  const IndexBatches batches_;

  std::mutex mutex_;
  std::condition_variable ready_;  // a batch finished
  std::condition_variable room_;   // the consumer took a batch, or the pass stops
  std::map<std::size_t, std::variant<Batch, std::exception_ptr>> finished_;
  std::size_t claimed_ = 0;  // batches handed to workers
  std::size_t next_ = 0;     // the batch the consumer takes next
  bool stop_ = false;
  std::vector<std::thread> workers_;  // last: started after everything above exists
};

DataLoader::DataLoader(std::shared_ptr<const Dataset> dataset, DataLoaderOptions options)
    : dataset_(std::move(dataset)), options_(std::move(options)) {
  EMBER_CHECK(dataset_ != nullptr, "DataLoader: got no dataset");
  EMBER_CHECK(options_.batch_size >= 1, "DataLoader: batch_size must be at least 1, got ", options_.batch_size);
  EMBER_CHECK(options_.num_workers >= 0, "DataLoader: num_workers must be >= 0, got ", options_.num_workers);
  EMBER_CHECK(options_.collate != nullptr, "DataLoader: got no collate function");
  EMBER_CHECK(!options_.batch_sampler || (options_.batch_size == 1 && !options_.shuffle && !options_.sampler &&
                                          !options_.drop_last),
              "DataLoader: batch_sampler is mutually exclusive with batch_size, shuffle, sampler and drop_last "
              "(the batch sampler decides the batches)");
}

DataLoader::~DataLoader() = default;

void DataLoader::set_sampler(std::shared_ptr<const Sampler> sampler) {
  EMBER_CHECK(sampler != nullptr, "DataLoader::set_sampler: got no sampler");
  EMBER_CHECK(!options_.batch_sampler, "DataLoader::set_sampler: this loader's batches come from a batch sampler "
              "(use set_batch_sampler)");
  options_.sampler = std::move(sampler);
}

void DataLoader::set_batch_sampler(std::shared_ptr<const BatchSampler> batch_sampler) {
  EMBER_CHECK(batch_sampler != nullptr, "DataLoader::set_batch_sampler: got no batch sampler");
  EMBER_CHECK(options_.batch_sampler != nullptr, "DataLoader::set_batch_sampler: this loader cuts batches of "
              "batch_size from a sampler (give a batch_sampler in its options to replace it later)");
  options_.batch_sampler = std::move(batch_sampler);
}

void DataLoader::set_start_batch(std::int64_t batch) {
  EMBER_CHECK(batch >= 0, "DataLoader::set_start_batch: the batch must be >= 0, got ", batch);
  start_batch_ = batch;
}

std::int64_t DataLoader::size() const { return batch_sampler_of(options_)->length(dataset_->size()); }

DataLoader::Iterator DataLoader::begin() {
  Iterator first;
  first.pass_ = std::make_shared<Pass>(*dataset_, options_, epoch_++, std::exchange(start_batch_, 0));
  first.finished_ = false;
  ++first;
  return first;
}

DataLoader::Iterator& DataLoader::Iterator::operator++() {
  if (pass_ != nullptr && pass_->has_next()) {
    batch_ = pass_->next();
  } else {
    finished_ = true;
    batch_.clear();
    pass_.reset();  // the workers stop now, not when the iterator goes
  }
  return *this;
}

}  // namespace ember::data
