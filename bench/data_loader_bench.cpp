// DataLoader throughput on Fashion-MNIST with augmentation (random crop with padding 2,
// horizontal flip, normalize), batch 64, for 0, 1 and 2 worker threads. 0 workers (loading on
// the consumer's thread) is the reference the workers are measured against.
#include <benchmark/benchmark.h>

#include <filesystem>

#include "core/ember.h"
#include "data/data_loader.h"
#include "data/fashion_mnist.h"
#include "data/transforms.h"

using namespace ember;

namespace {

std::shared_ptr<const data::Dataset> augmented_fashion_mnist() {
  static const std::shared_ptr<const data::Dataset> dataset = [] {
    Tensor images, labels;
    if (std::filesystem::exists(data::kFashionMnistRoot)) {
      data::FashionMnist train = data::load_fashion_mnist(data::kFashionMnistRoot, true);
      images = train.images;
      labels = train.labels;
    } else {  // same shapes, random pixels
      Generator generator(0);
      images = rand({60000, 1, 28, 28}, {}, generator);
      labels = zeros({60000}, {.dtype = DType::i64});
    }
    auto base = std::make_shared<data::TensorDataset>(std::vector<Tensor>{images, labels});
    return std::make_shared<data::TransformDataset>(
        base, data::compose({data::random_crop(28, 28, 2), data::random_horizontal_flip(),
                             data::normalize({0.2860}, {0.3530})}));
  }();
  return dataset;
}

void BM_data_loader(benchmark::State& state) {
  set_num_threads(1);  // the kernels inside transforms stay on their worker
  data::DataLoader loader(augmented_fashion_mnist(),
                          {.batch_size = 64, .shuffle = true, .num_workers = static_cast<int>(state.range(0)), .seed = 1});
  std::int64_t batches = 0;
  for (auto _ : state) {
    for (const data::Batch& batch : loader) {
      benchmark::DoNotOptimize(batch[0].data_ptr());
      if (++batches % 200 == 0) break;  // 200 batches per iteration
    }
  }
  state.counters["batches/s"] = benchmark::Counter(static_cast<double>(batches), benchmark::Counter::kIsRate);
}

}  // namespace

BENCHMARK(BM_data_loader)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(3);
BENCHMARK_MAIN();
