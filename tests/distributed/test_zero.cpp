// ZeroRedundancyOptimizer: stages 1 and 2 on 2 and 3 ranks take the steps of one unsharded
// optimizer (Adam; AdamW with the GradScaler, including a step skipped for an inf on one rank);
// the consolidated checkpoint state equals the unsharded optimizer's and loads into a different
// world size; each rank holds about 1/N of the optimizer state.
#include <doctest/doctest.h>

#include <charconv>
#include <cmath>
#include <limits>

#include "distributed/zero.h"
#include "optim/adam.h"
#include "optim/grad_scaler.h"
#include "ranks.h"
#include "tiny_problem.h"
#include "trainer/safetensors.h"

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
  trainer::save_safetensors(path, state.tensors, scalars);
}

optim::OptimizerState load_state(const std::string& path) {
  trainer::SafetensorsFile file = trainer::load_safetensors(path);
  optim::OptimizerState state;
  state.tensors = file.tensors;
  for (const auto& [name, text] : file.metadata) state.scalars[name] = std::stod(text);
  return state;
}

// One full-batch step of the tiny problem.
Tensor full_batch_loss(nn::Module& model, const TinyProblem& problem) { return loss_on_rows(model, problem, 0, 12); }

}  // namespace

RANK_SCENARIO(zero_steps_like_one_optimizer) {
  // Every rank computes the full batch's gradient, so stage 1 needs no gradient averaging and
  // stage 2 averages identical gradients.
  const TinyProblem problem = tiny_problem();
  const std::string rank = std::to_string(group->rank());
  {
    const auto model = tiny_model(100);
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
    const auto model = tiny_model(100);
    optim::AdamW adamw(model->parameters(), kAdamW);
    ZeroRedundancyOptimizer zero(adamw, group, 2);
    optim::GradScaler scaler({.init_scale = 1024});  // a power of two: unscaling is exact
    for (int step = 0; step < 3; ++step) {
      zero.zero_grad();
      scaler.scale(full_batch_loss(*model, problem)).backward();
      if (step == 1 && group->rank() == group->size() - 1) {
        // An overflow on one rank only: after the reduce-scatter only the owner of this gradient
        // sees it, and every rank must still skip the step.
        model->parameters()[0].grad().data<float>()[0] = std::numeric_limits<float>::infinity();
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
  const TinyProblem problem = tiny_problem();
  const auto adam_model = tiny_model(100);
  optim::Adam adam(adam_model->parameters(), kAdam);
  for (int step = 0; step < 3; ++step) {
    adam.zero_grad();
    full_batch_loss(*adam_model, problem).backward();
    adam.step();
  }
  // The AdamW run's middle step was skipped for the inf: two updates.
  const auto adamw_model = tiny_model(100);
  optim::AdamW adamw(adamw_model->parameters(), kAdamW);
  for (int step = 0; step < 2; ++step) {
    adamw.zero_grad();
    full_batch_loss(*adamw_model, problem).backward();
    adamw.step();
  }
  for (const int ranks : {2, 3}) {
    const auto run = run_ranks("zero_steps_like_one_optimizer", ranks);
    INFO(run.report());
    REQUIRE(run.succeeded());
    struct Expected {
      const char* stage;
      std::vector<double> weights;
      optim::OptimizerState state;
    };
    for (const Expected& expected : {Expected{"stage1", flat_parameters(*adam_model), adam.state()},
                                     Expected{"stage2", flat_parameters(*adamw_model), adamw.state()}}) {
      INFO(expected.stage, " on ", ranks, " ranks");
      for (int rank = 0; rank < ranks; ++rank) {
        // Stage 1 runs Adam's own kernel on the same gradients: the same bits. Stage 2's
        // gradients are averages of identical values (sum / N): exact for 2 ranks, within an
        // ulp for 3.
        const auto weights = read_values(run.directory + "/" + expected.stage + "." + std::to_string(rank));
        if (std::string(expected.stage) == "stage1") CHECK(weights == expected.weights);
        CHECK(relative_difference(weights, expected.weights) < 1e-6);
      }
      // The consolidated state is the unsharded optimizer's: the same names, steps and moments.
      const optim::OptimizerState state = load_state(run.directory + "/" + expected.stage + "_state.safetensors");
      CHECK(state.scalars == expected.state.scalars);
      REQUIRE(state.tensors.size() == expected.state.tensors.size());
      for (const auto& [name, tensor] : expected.state.tensors) {
        const auto found = std::find_if(state.tensors.begin(), state.tensors.end(),
                                        [&](const auto& entry) { return entry.first == name; });
        REQUIRE(found != state.tensors.end());
        CHECK(relative_difference(found->second.to(DType::f64).to_vector<double>(),
                                  tensor.to(DType::f64).to_vector<double>()) < 1e-6);
      }
    }
  }
}

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
  const TinyProblem problem = tiny_problem();
  const auto model = tiny_model(100);
  optim::Adam adam(model->parameters(), kAdam);
  for (int step = 0; step < 5; ++step) {  // 3 steps before the checkpoint, 2 after
    adam.zero_grad();
    full_batch_loss(*model, problem).backward();
    adam.step();
  }
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
                              flat_parameters(*model)) < 1e-6);
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
