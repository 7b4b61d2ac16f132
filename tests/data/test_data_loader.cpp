// DataLoader: batching, shuffling, determinism across worker counts, errors.
#include <atomic>

#include "data/data_loader.h"
#include "data/pin_memory.h"
#include "data/transforms.h"
#include "helpers.h"

using namespace ember;
using namespace ember::testing;
using data::Batch;
using data::DataLoader;
using data::DataLoaderOptions;

namespace {

// Example i is {[i, i], label i}.
std::shared_ptr<data::TensorDataset> numbers(std::int64_t n) {
  const Tensor values = arange(0, static_cast<double>(n), 1, {.dtype = DType::f32}).unsqueeze(1).expand({n, 2}).contiguous();
  return std::make_shared<data::TensorDataset>(std::vector<Tensor>{values, arange(n)});
}

std::vector<std::vector<double>> collect(DataLoader& loader) {
  std::vector<std::vector<double>> batches;
  for (const Batch& batch : loader) batches.push_back(batch[1].to_vector<double>());
  return batches;
}

// A dataset whose examples are random crops and flips of one image: the randomness is the point.
class Augmented : public data::Dataset {
 public:
  std::int64_t size() const override { return 40; }
  data::Example get(std::int64_t index, Generator& generator) const override {
    const Tensor image = arange(0, 48, 1, {.dtype = DType::f32}).view({3, 4, 4}) + static_cast<double>(index);
    const auto transform = data::compose({data::random_crop(4, 4, 2), data::random_horizontal_flip()});
    return {transform(image, generator)};
  }
};

// Throws on one index.
class Faulty : public data::Dataset {
 public:
  std::int64_t size() const override { return 20; }
  data::Example get(std::int64_t index, Generator&) const override {
    if (index == 13) throw std::runtime_error("cannot decode image");
    return {scalar_tensor(static_cast<double>(index))};
  }
};

}  // namespace

TEST_CASE("sequential batches in order + the last one smaller unless drop_last") {
  DataLoader loader(numbers(10), {.batch_size = 4});
  CHECK(loader.size() == 3);
  const auto batches = collect(loader);
  REQUIRE(batches.size() == 3);
  CHECK(batches[0] == std::vector<double>{0, 1, 2, 3});
  CHECK(batches[2] == std::vector<double>{8, 9});
  DataLoader dropping(numbers(10), {.batch_size = 4, .drop_last = true});
  CHECK(dropping.size() == 2);
  CHECK(collect(dropping).size() == 2);
  // Default collate stacks: values [4, 2] and labels [4].
  for (const Batch& batch : loader) {
    CHECK(batch[0].sizes() == Shape{4, 2});
    break;
  }
}

TEST_CASE("shuffling covers every index once + depends on seed and epoch") {
  DataLoader loader(numbers(50), {.batch_size = 7, .shuffle = true, .seed = 3});
  const auto epoch0 = collect(loader);
  const auto epoch1 = collect(loader);  // each pass advances the epoch
  CHECK(epoch0 != epoch1);
  std::vector<double> seen;
  for (const auto& batch : epoch0) seen.insert(seen.end(), batch.begin(), batch.end());
  std::sort(seen.begin(), seen.end());
  for (std::size_t i = 0; i < seen.size(); ++i) CHECK(seen[i] == static_cast<double>(i));
  loader.set_epoch(0);
  CHECK(collect(loader) == epoch0);  // the same (seed, epoch) gives the same order
}

TEST_CASE("the same batches for 0 + 1 and 3 workers + even with random augmentation") {
  auto dataset = std::make_shared<Augmented>();
  std::vector<std::vector<float>> reference;
  for (int workers : {0, 1, 3}) {
    DataLoader loader(dataset, {.batch_size = 6, .shuffle = true, .num_workers = workers, .prefetch_factor = 2, .seed = 11});
    std::vector<std::vector<float>> batches;
    for (const Batch& batch : loader) batches.push_back(batch[0].to_vector<float>());
    if (workers == 0) {
      reference = batches;
      REQUIRE(reference.size() == 7);
    } else {
      CHECK(batches == reference);
    }
  }
}

TEST_CASE("a worker's exception reaches the caller with the sample index") {
  for (int workers : {0, 2}) {
    DataLoader loader(std::make_shared<Faulty>(), {.batch_size = 4, .num_workers = workers});
    const std::string message = error_of([&] {
      for (const Batch& batch : loader) (void)batch;
    });
    CHECK(contains(message, "DataLoader: loading sample 13 (batch 3, epoch 0) failed: cannot decode image"));
  }
}

TEST_CASE("leaving a pass early stops its workers") {
  DataLoader loader(numbers(1000), {.batch_size = 2, .num_workers = 2});
  int seen = 0;
  for (const Batch& batch : loader) {
    (void)batch;
    if (++seen == 3) break;
  }
  CHECK(seen == 3);
  CHECK(collect(loader).size() == 500);  // a new pass starts cleanly
}

TEST_CASE("a pass started inside another pass of the same loader leaves the outer one intact") {
  // The same loader for training and validation: each validation is a whole pass run while the
  // training pass is half done. Each pass keeps its own workers and order (the outer one used
  // to be freed under its iterator). Sequential batches of 2: the outer pass still sees 0..9.
  DataLoader loader(numbers(10), {.batch_size = 2, .num_workers = 2});
  std::vector<double> outer;
  for (const Batch& batch : loader) {
    for (double label : batch[1].to_vector<double>()) outer.push_back(label);
    CHECK(collect(loader).size() == 5);  // a full inner pass
  }
  CHECK(outer == std::vector<double>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
}

TEST_CASE("pin_memory passes every batch through the registered hook on the workers") {
  // A stand-in for the CUDA backend's pinning: marks each batch by appending a tensor.
  std::atomic<int> calls = 0;
  data::set_pin_memory_hook([&calls](Batch batch) {
    ++calls;
    batch.push_back(scalar_tensor(1.0));
    return batch;
  });
  for (int workers : {0, 2}) {
    DataLoader pinned(numbers(10), {.batch_size = 3, .num_workers = workers, .pin_memory = true});
    std::vector<std::vector<double>> labels;
    for (const Batch& batch : pinned) {
      REQUIRE(batch.size() == 3);
      labels.push_back(batch[1].to_vector<double>());
    }
    // Still in order, all of them.
    CHECK(labels == std::vector<std::vector<double>>{{0, 1, 2}, {3, 4, 5}, {6, 7, 8}, {9}});
  }
  CHECK(calls == 8);
  DataLoader unpinned(numbers(10), {.batch_size = 3});
  for (const Batch& batch : unpinned) CHECK(batch.size() == 2);
  data::set_pin_memory_hook(nullptr);
  // Without a hook (a CPU-only build) pin_memory changes nothing.
  DataLoader cpu_only(numbers(4), {.batch_size = 2, .pin_memory = true});
  for (const Batch& batch : cpu_only) CHECK(batch.size() == 2);
  CHECK(calls == 8);
}

TEST_CASE("pad_collate pads ragged images and reports masks and sizes") {
  const std::vector<data::Example> examples = {{ones({1, 2, 3}), scalar_tensor(0, {.dtype = DType::i64})},
                                               {full({1, 4, 1}, 2), scalar_tensor(1, {.dtype = DType::i64})}};
  const Batch batch = data::pad_collate(examples);
  CHECK(batch[0].sizes() == Shape{2, 1, 4, 3});
  // Image 0 is 2x3 of ones at the top; rows 2 and 3 are padding.
  check_values(batch[0].select(0, 0), {1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0});
  check_values(batch[1].select(0, 1), {1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0});  // image 1 is 4x1
  check_values(batch[2], {2, 3, 4, 1});
  check_values(batch[3], {0, 1});
  CHECK(contains(error_of([&] { data::default_collate(examples); }), "ragged inputs need a custom collate"));
}

TEST_CASE("DataLoader option errors") {
  CHECK(contains(error_of([] { DataLoader(numbers(3), {.batch_size = 0}); }), "batch_size must be at least 1"));
  CHECK(contains(error_of([] { DataLoader(nullptr, {}); }), "got no dataset"));
}
