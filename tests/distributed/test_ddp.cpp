// DistributedDataParallel: N ranks on N shards of a batch must end with the weights of one
// process on the whole batch (also with gradient accumulation under no_sync); the bucket layout;
// unused parameters; and the DistributedSampler's shares.
#include <doctest/doctest.h>

#include <algorithm>
#include <numeric>

#include "cuda/cuda_helpers.h"
#include "data/sampler.h"
#include "distributed/ddp.h"
#include "distributed/init.h"
#include "distributed/temporary_directory.h"
#include "optim/sgd.h"
#include "ranks.h"
#include "tiny_problem.h"

using namespace ember;
using namespace ember::distributed;
using namespace ember::testing;

namespace {

constexpr int kSteps = 4;
const optim::SGDOptions kSgd{.lr = 0.1, .momentum = 0.9};

// One process, the whole batch of 12 per step, from rank 0's weights (DDP starts every rank
// from them).
SingleProcessRun single_process_sgd(const Device& device) {
  return single_process_run([](const std::vector<Tensor>& parameters) {
    return std::make_unique<optim::SGD>(parameters, kSgd);
  }, kSteps, device);
}

}  // namespace

RANK_SCENARIO(ddp_trains_shards) {
  const TinyProblem problem = tiny_problem(group->device());
  const std::int64_t shard = 12 / group->size();
  const std::int64_t begin = group->rank() * shard;
  for (const bool accumulate : {false, true}) {
    // Different on each rank until DDP broadcasts rank 0's.
    const auto model = tiny_model(100 + group->rank(), group->device());
    DistributedDataParallel ddp(model->parameters(), model->buffers(), group);
    optim::SGD sgd(model->parameters(), kSgd);
    for (int step = 0; step < kSteps; ++step) {
      sgd.zero_grad();
      if (!accumulate) {
        loss_on_rows(*model, problem, begin, begin + shard).backward();
      } else {
        // Two micro-batches of half the shard, the first without communication. Each loss is
        // halved, so the accumulated gradient is the shard's mean gradient.
        const std::int64_t half = shard / 2;
        {
          auto no_sync = ddp.no_sync();
          div(loss_on_rows(*model, problem, begin, begin + half), 2.0).backward();
        }
        div(loss_on_rows(*model, problem, begin + half, begin + shard), 2.0).backward();
      }
      sgd.step();
    }
    write_values(directory + (accumulate ? "/accumulated." : "/plain.") + std::to_string(group->rank()),
                 flat_parameters(*model));
  }
}

TEST_CASE("DDP on 2 and 3 ranks ends with the weights of one process on the whole batch") {
  const std::vector<double> expected = single_process_sgd(Device::cpu()).weights;
  for (const int ranks : {2, 3}) {
    const auto run = run_ranks("ddp_trains_shards", ranks);
    INFO(run.report());
    REQUIRE(run.succeeded());
    for (const char* kind : {"plain", "accumulated"}) {
      for (int rank = 0; rank < ranks; ++rank) {
        const auto weights = read_values(run.directory + "/" + kind + "." + std::to_string(rank));
        // The same bits on every rank: each applies the same averaged gradient to the same weights.
        CHECK(weights == read_values(run.directory + "/" + kind + ".0"));
        // The whole batch's mean gradient is the mean of the shards' mean gradients, so only the
        // f32 summation order differs from the single process: a few ulps of the largest weight
        // (measured: 3e-8 absolute on weights up to 0.41, 7e-8 relative).
        INFO(std::string(kind), " on ", ranks, " ranks");
        CHECK(relative_difference(weights, expected) < 1e-6);
      }
    }
  }
}

#if EMBER_NCCL
TEST_CASE("NCCL, world of one: DDP on the GPU takes the steps of the same GPU loop without DDP") {
  if (skip_without_gpu()) return;
  // One GPU is all a test machine has, so the NCCL group is a world of one: the scenario runs in
  // this process. Multi-rank NCCL is the Gloo tests' logic on another backend.
  const auto group = init_process_group({.backend = "nccl"});
  const TemporaryDirectory directory("ember-test");
  ddp_trains_shards(group, directory.path());
  const std::vector<double> gpu = single_process_sgd(Device::cuda()).weights;
  const std::vector<double> cpu = single_process_sgd(Device::cpu()).weights;
  for (const char* kind : {"plain", "accumulated"}) {
    INFO(kind);
    const auto weights = read_values(directory.path() + "/" + kind + ".0");
    // Averaging over one rank divides by 1: without accumulation the gradients, and so the
    // weights, are the loop's own bits. Accumulating two halved micro-batch losses rounds
    // differently from one whole-batch loss: within a few ulps.
    if (std::string(kind) == "plain") CHECK(weights == gpu);
    CHECK(relative_difference(weights, gpu) < 1e-6);
    // And the GPU's f32 training stays within METHOD.md's f32 bound of the CPU's.
    CHECK(relative_difference(weights, cpu) < 1e-5);
  }
}
#endif

RANK_SCENARIO(ddp_unused_parameters) {
  nn::Linear used(6, 3);
  nn::Linear extra(6, 3);
  std::vector<Tensor> parameters = used.parameters();
  for (const Tensor& parameter : extra.parameters()) parameters.push_back(parameter);
  const Tensor x = ones({1, 6});
  {
    DistributedDataParallel ddp(parameters, {}, group);
    std::string message;
    try {
      sum(used.forward(x)).backward();
    } catch (const Error& error) {
      message = error.what();
    }
    require(message.find("parameters 2 [3, 6], 3 [3] (positions in the list given, with shapes) got no gradient") !=
                std::string::npos,
            "expected the unused-parameter error, got: " + message);
  }
  used.zero_grad();
  DistributedDataParallel ddp(parameters, {}, group, {.find_unused_parameters = true});
  // Only rank 0 uses `extra`: d sum(extra(x)) / dW = ones (x is ones), / db = ones. The other
  // ranks count zeros, so every rank gets the average 1 / size.
  Tensor loss = sum(used.forward(x));
  if (group->rank() == 0) loss = add(loss, sum(extra.forward(x)));
  loss.backward();
  const double expected = 1.0 / group->size();
  for (const Tensor& gradient : {extra.weight.grad(), extra.bias.grad()}) {
    for (const float value : gradient.contiguous().to_vector<float>()) {
      require(std::abs(value - expected) < 1e-7, "unused parameter's gradient " + std::to_string(value) +
                                                     ", expected " + std::to_string(expected));
    }
  }
}

TEST_CASE("DDP names parameters that got no gradient, or averages them with find_unused_parameters") {
  const auto run = run_ranks("ddp_unused_parameters", 2);
  INFO(run.report());
  CHECK(run.succeeded());
}

TEST_CASE("DDP buckets gradients in reverse order, the first bucket smaller, and leaves one rank's gradients alone") {
  const auto group = init_process_group();  // a world of one
  std::vector<Tensor> parameters;
  for (int i = 0; i < 5; ++i) parameters.push_back(full({1000}, 1.0).set_requires_grad(true));  // 4000 bytes each
  // From the last parameter back, each bucket filled until it reaches its cap: the first cap
  // (~5.2 KB) after two parameters (8000 bytes), the next (~10.5 KB) after the remaining three.
  DistributedDataParallel ddp(parameters, {}, group, {.bucket_cap_mb = 0.01, .first_bucket_cap_mb = 0.005});
  const std::vector<std::vector<std::size_t>> expected{{4, 3}, {2, 1, 0}};
  CHECK(ddp.bucket_layout() == expected);
  Tensor loss = zeros({});
  for (int i = 0; i < 5; ++i) loss = add(loss, sum(mul(parameters[static_cast<std::size_t>(i)], double(i + 1))));
  loss.backward();
  for (int i = 0; i < 5; ++i) {
    // d loss / d p_i = i + 1 everywhere; averaging over one rank changes nothing.
    CHECK(parameters[static_cast<std::size_t>(i)].grad().to_vector<float>() == std::vector<float>(1000, float(i + 1)));
  }
}

TEST_CASE("DistributedSampler: equal shares that together cover the epoch, reshuffled each epoch") {
  // 10 samples on 3 replicas: padded to 12 by repeating the order's first two.
  std::vector<std::int64_t> seen;
  for (int rank = 0; rank < 3; ++rank) {
    const data::DistributedSampler sampler(3, rank, {.shuffle = false});
    const auto share = sampler.indices(10, 0);
    CHECK(share.size() == 4);
    CHECK(sampler.length(10) == 4);
    seen.insert(seen.end(), share.begin(), share.end());
  }
  // Rank r takes positions r, r + 3, ...: 0 3 6 9 | 1 4 7 0 | 2 5 8 1.
  CHECK(seen == std::vector<std::int64_t>{0, 3, 6, 9, 1, 4, 7, 0, 2, 5, 8, 1});
  // drop_last: 9 samples, 3 each; pad = false: shares of 4, 3, 3 and nothing twice.
  CHECK(data::DistributedSampler(3, 2, {.shuffle = false, .drop_last = true}).indices(10, 0) ==
        std::vector<std::int64_t>{2, 5, 8});
  CHECK(data::DistributedSampler(3, 0, {.shuffle = false, .pad = false}).indices(10, 0) ==
        std::vector<std::int64_t>{0, 3, 6, 9});
  CHECK(data::DistributedSampler(3, 1, {.shuffle = false, .pad = false}).length(10) == 3);
  // Shuffled: the ranks split one permutation (the same on every rank for seed + epoch) ...
  std::vector<std::int64_t> all;
  for (int rank = 0; rank < 2; ++rank) {
    const auto share = data::DistributedSampler(2, rank, {.seed = 5}).indices(10, 3);
    all.insert(all.end(), share.begin(), share.end());
  }
  std::sort(all.begin(), all.end());
  std::vector<std::int64_t> every(10);
  std::iota(every.begin(), every.end(), 0);
  CHECK(all == every);
  // ... and a new epoch draws a new one.
  CHECK(data::DistributedSampler(2, 0, {.seed = 5}).indices(10, 3) != data::DistributedSampler(2, 0, {.seed = 5}).indices(10, 4));
}
