#include "data/sampler.h"

#include <numeric>

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

}  // namespace ember::data
