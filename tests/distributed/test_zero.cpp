// ZeroRedundancyOptimizer: stages 1 and 2 on 2 and 3 ranks take the steps of one unsharded
// optimizer (Adam; AdamW with the GradScaler, including a step skipped for an inf on one rank);
// the consolidated checkpoint state equals the unsharded optimizer's and loads into a different
// world size; each rank holds about 1/N of the optimizer state.
#include <doctest/doctest.h>

#include <charconv>
#include <cmath>
#include <limits>

#include "cuda/cuda_helpers.h"
#include "distributed/init.h"
#include "distributed/temporary_directory.h"
#include "distributed/zero.h"
#include "optim/adam.h"
#include "optim/grad_scaler.h"
#include "ranks.h"
#include "tiny_problem.h"
#include "io/safetensors.h"

using namespace ember;
using namespace ember::distributed;
using namespace ember::testing;

namespace {

const optim::AdamOptions kAdam{.lr = 0.01};
const optim::AdamWOptions kAdamW{.lr = 0.01, .weight_decay = 0.01};

// An optimizer state in a safetensors file: tensors as tensors, scalars as exact decimal text.
void save_state(const std::string& path, const optim::OptimizerState& state) {
  std::map<std::string, std::string> scalars;
  for (const auto& [name, value] : state.scalars) {
    char text[64];
    scalars[name] = std::string(text, std::to_chars(text, text + sizeof(text), value).ptr);
  }
  io::save_safetensors(path, state.tensors, scalars);
}

optim::OptimizerState load_state(const std::string& path) {
  io::SafetensorsFile file = io::load_safetensors(path);
  optim::OptimizerState state;
  state.tensors = file.tensors;
  for (const auto& [name, text] : file.metadata) state.scalars[name] = std::stod(text);
  return state;
}

// One full-batch step of the tiny problem.
Tensor full_batch_loss(nn::Module& model, const TinyProblem& problem) { return loss_on_rows(model, problem, 0, 12); }

// What the scenario below must reproduce: unsharded Adam for 3 steps, and unsharded AdamW for the
// 2 steps its GradScaler run takes (the middle step is skipped for an inf).
SingleProcessRun unsharded_adam(const Device& device) {
  return single_process_run([](const std::vector<Tensor>& parameters) {
    return std::make_unique<optim::Adam>(parameters, kAdam);
  }, 3, device);
}
SingleProcessRun unsharded_adamw(const Device& device) {
  return single_process_run([](const std::vector<Tensor>& parameters) {
    return std::make_unique<optim::AdamW>(parameters, kAdamW);
  }, 2, device);
}

struct Agreement {
  bool same_bits;    // the weights must be the unsharded run's exactly
  double tolerance;  // else within this relative difference (tiny_problem.h)
};

// The weights every rank wrote for `stage` ("stage1", "stage2"), and the consolidated state rank 0
// saved, against the unsharded run.
void check_like_unsharded(const std::string& directory, const std::string& stage, int ranks,
                          const SingleProcessRun& expected, const Agreement& agreement) {
  INFO(stage, " on ", ranks, " ranks");
  for (int rank = 0; rank < ranks; ++rank) {
    const auto weights = read_values(directory + "/" + stage + "." + std::to_string(rank));
    if (agreement.same_bits) CHECK(weights == expected.weights);
    CHECK(relative_difference(weights, expected.weights) <= agreement.tolerance);
  }
  // The consolidated state is the unsharded optimizer's: the same names, steps and moments.
  const optim::OptimizerState state = load_state(directory + "/" + stage + "_state.safetensors");
  CHECK(state.scalars == expected.state.scalars);
  REQUIRE(state.tensors.size() == expected.state.tensors.size());
  auto values = [](const Tensor& tensor) { return tensor.to(Device::cpu()).to(DType::f64).to_vector<double>(); };
  for (const auto& [name, tensor] : expected.state.tensors) {
    const auto found = std::find_if(state.tensors.begin(), state.tensors.end(),
                                    [&](const auto& entry) { return entry.first == name; });
    REQUIRE(found != state.tensors.end());
    CHECK(relative_difference(values(found->second), values(tensor)) <= std::max(agreement.tolerance, 1e-6));
  }
}

}  // namespace

RANK_SCENARIO(zero_steps_like_one_optimizer) {
  // Every rank computes the full batch's gradient, so stage 1 needs no gradient averaging and
  // stage 2 averages identical gradients.
  const TinyProblem problem = tiny_problem(group->device());
  const std::string rank = std::to_string(group->rank());
  {
    const auto model = tiny_model(100, group->device());
    optim::Adam adam(model->parameters(), kAdam);  // what ZeRO shards; it never steps itself
    ZeroRedundancyOptimizer zero(adam, group, 1);
    for (int step = 0; step < 3; ++step) {
      zero.zero_grad();
      full_batch_loss(*model, problem).backward();
      zero.step();
    }
    write_values(directory + "/stage1." + rank, flat_parameters(*model));
    const optim::OptimizerState state = zero.state();  // a collective: every rank calls it
    if (group->rank() == 0) save_state(directory + "/stage1_state.safetensors", state);
  }
  {
    const auto model = tiny_model(100, group->device());
    optim::AdamW adamw(model->parameters(), kAdamW);
    ZeroRedundancyOptimizer zero(adamw, group, 2);
    optim::GradScaler scaler({.init_scale = 1024});  // a power of two: unscaling is exact
    for (int step = 0; step < 3; ++step) {
      zero.zero_grad();
      scaler.scale(full_batch_loss(*model, problem)).backward();
      if (step == 1 && group->rank() == group->size() - 1) {
        // An overflow on one rank only: after the reduce-scatter only the owner of this gradient
        // sees it, and every rank must still skip the step.
        const Tensor first = flatten(model->parameters()[0].grad());
        copy_(slice(first, 0, 0, 1), full({1}, std::numeric_limits<double>::infinity(), {.device = first.device()}));
      }
      zero.reduce_gradients();
      for (std::size_t i = 0; i < model->parameters().size(); ++i) {
        require(model->parameters()[i].grad().defined() == (zero.owner(i) == group->rank()),
                "stage 2 keeps exactly the gradients this rank owns");
      }
      const bool stepped = scaler.step(zero);
      scaler.update();
      require(stepped == (step != 1), "step " + std::to_string(step) + (stepped ? " stepped" : " was skipped"));
    }
    write_values(directory + "/stage2." + rank, flat_parameters(*model));
    const optim::OptimizerState state = zero.state();
    if (group->rank() == 0) save_state(directory + "/stage2_state.safetensors", state);
  }
}

TEST_CASE("ZeRO stages 1 and 2 on 2 and 3 ranks step like one unsharded optimizer, GradScaler included") {
  const SingleProcessRun adam = unsharded_adam(Device::cpu());
  const SingleProcessRun adamw = unsharded_adamw(Device::cpu());
  for (const int ranks : {2, 3}) {
    const auto run = run_ranks("zero_steps_like_one_optimizer", ranks);
    INFO(run.report());
    REQUIRE(run.succeeded());
    // Stage 1 runs Adam's own kernel on the same gradients: the same bits. Stage 2's gradients
    // are averages of identical values (sum / N): exact for 2 ranks, within an ulp for 3.
    check_like_unsharded(run.directory, "stage1", ranks, adam, {.same_bits = true, .tolerance = 1e-6});
    check_like_unsharded(run.directory, "stage2", ranks, adamw, {.same_bits = false, .tolerance = 1e-6});
  }
}

#if EMBER_NCCL
TEST_CASE("NCCL, world of one: ZeRO stages 1 and 2 on the GPU step like one unsharded GPU optimizer") {
  if (skip_without_gpu()) return;
  // One GPU is all a test machine has: the scenario runs in this process as a world of one.
  const auto group = init_process_group({.backend = "nccl"});
  const TemporaryDirectory directory("ember-test");
  zero_steps_like_one_optimizer(group, directory.path());
  // Sharding over one rank leaves every kernel's input as it was (averages divide by 1, the
  // scale 1024 is a power of two): the unsharded GPU run's bits, and within METHOD.md's f32
  // bound of the CPU's.
  check_like_unsharded(directory.path(), "stage1", 1, unsharded_adam(Device::cuda()), {.same_bits = true, .tolerance = 0});
  check_like_unsharded(directory.path(), "stage2", 1, unsharded_adamw(Device::cuda()), {.same_bits = true, .tolerance = 0});
  check_like_unsharded(directory.path(), "stage1", 1, unsharded_adam(Device::cpu()), {.same_bits = false, .tolerance = 1e-5});
  check_like_unsharded(directory.path(), "stage2", 1, unsharded_adamw(Device::cpu()), {.same_bits = false, .tolerance = 1e-5});
}
#endif

RANK_SCENARIO(zero_resumes_from_consolidated_state) {
  // Weights and consolidated state saved by a run of another world size: load, take 2 steps.
  const std::string input = std::getenv("EMBER_TEST_INPUT");
  const TinyProblem problem = tiny_problem();
  const auto model = tiny_model(100);
  const std::vector<double> saved = read_values(input + "/stage1.0");
  std::size_t at = 0;
  for (const Tensor& parameter : model->parameters()) {
    for (std::int64_t i = 0; i < parameter.numel(); ++i) parameter.data<float>()[i] = static_cast<float>(saved[at++]);
  }
  optim::Adam adam(model->parameters(), kAdam);
  ZeroRedundancyOptimizer zero(adam, group, 1);
  zero.load_state(load_state(input + "/stage1_state.safetensors"));
  for (int step = 0; step < 2; ++step) {
    zero.zero_grad();
    full_batch_loss(*model, problem).backward();
    zero.step();
  }
  write_values(directory + "/resumed." + std::to_string(group->rank()), flat_parameters(*model));
}

TEST_CASE("a consolidated ZeRO state saved by 2 ranks resumes on 3 ranks as if never interrupted") {
  // 3 steps before the checkpoint, 2 after.
  const SingleProcessRun uninterrupted = single_process_run([](const std::vector<Tensor>& parameters) {
    return std::make_unique<optim::Adam>(parameters, kAdam);
  }, 5);
  const auto saved = run_ranks("zero_steps_like_one_optimizer", 2);
  INFO(saved.report());
  REQUIRE(saved.succeeded());
  RanksOptions options;
  options.environment["EMBER_TEST_INPUT"] = saved.directory;
  const auto resumed = run_ranks("zero_resumes_from_consolidated_state", 3, options);
  INFO(resumed.report());
  REQUIRE(resumed.succeeded());
  for (int rank = 0; rank < 3; ++rank) {
    CHECK(relative_difference(read_values(resumed.directory + "/resumed." + std::to_string(rank)),
                              uninterrupted.weights) < 1e-6);
  }
}

RANK_SCENARIO(zero_state_bytes) {
  // Eight 16x16 layers: 16 tensors of two sizes, which the greedy split balances well.
  nn::Sequential model;
  for (int i = 0; i < 8; ++i) model.push_back(std::make_shared<nn::Linear>(16, 16));
  optim::Adam adam(model.parameters(), {});
  ZeroRedundancyOptimizer zero(adam, group, 1);
  sum(model.forward(ones({2, 16}))).backward();
  zero.step();
  write_values(directory + "/bytes." + std::to_string(group->rank()), {double(zero.local_state_bytes())});
}

TEST_CASE("each of N ZeRO ranks holds about 1/N of the optimizer state") {
  // Unsharded Adam keeps two f32 moments per element: 2 * 4 * 8 * (256 + 16) bytes.
  const double unsharded = 2 * 4 * 8 * (256 + 16);
  for (const int ranks : {2, 3}) {
    const auto run = run_ranks("zero_state_bytes", ranks);
    INFO(run.report());
    REQUIRE(run.succeeded());
    double total = 0;
    std::string shares;
    for (int rank = 0; rank < ranks; ++rank) {
      const double bytes = read_values(run.directory + "/bytes." + std::to_string(rank))[0];
      total += bytes;
      shares += ' ';
      shares += std::to_string(bytes / unsharded);
      // Balanced up to one tensor: with 3 ranks the split is 768 / 768 / 640 elements of 2176.
      CHECK(bytes / unsharded <= 1.0 / ranks + 0.03);
    }
    MESSAGE(ranks, " ranks, state share per rank:", shares);
    CHECK(total == unsharded);  // nothing lost, nothing duplicated
  }
}
