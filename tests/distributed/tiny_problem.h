#pragma once
// A small classification problem the multi-rank tests train on, and the single-process runs
// they are compared with: 12 examples of 6 features in 3 classes, a 6-8-3 tanh MLP. Everything
// is made on the CPU and moved to `device` (the process group's: the CPU for Gloo, a GPU for NCCL).
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "core/ember.h"
#include "nn/nn.h"
#include "optim/optimizer.h"

namespace ember::testing {

struct TinyProblem {
  Tensor inputs;  // [12, 6] f32
  Tensor labels;  // [12] i64
};

inline TinyProblem tiny_problem(const Device& device = Device::cpu()) {
  Generator generator(7);
  TinyProblem problem;
  problem.inputs = randn({12, 6}, {}, generator);
  problem.labels = zeros({12}, {.dtype = DType::i64});
  for (std::int64_t i = 0; i < 12; ++i) problem.labels.data<std::int64_t>()[i] = (i * 7) % 3;
  problem.inputs = problem.inputs.to(device);
  problem.labels = problem.labels.to(device);
  return problem;
}

// Initialised from `seed` (on the CPU, so every device starts from the same weights), so ranks
// can start from different weights on purpose.
inline std::shared_ptr<nn::Sequential> tiny_model(std::uint64_t seed, const Device& device = Device::cpu()) {
  manual_seed(seed);
  auto model = std::make_shared<nn::Sequential>(std::initializer_list<std::shared_ptr<nn::Module>>{
      std::make_shared<nn::Linear>(6, 8), std::make_shared<nn::Tanh>(), std::make_shared<nn::Linear>(8, 3)});
  model->to(device);
  return model;
}

// Rows [begin, end) of the problem: one rank's shard, or one micro-batch.
inline Tensor loss_on_rows(nn::Module& model, const TinyProblem& problem, std::int64_t begin, std::int64_t end) {
  return nn::functional::cross_entropy(model.forward(slice(problem.inputs, 0, begin, end)),
                                       slice(problem.labels, 0, begin, end));
}

// Every parameter's values, laid end to end, as doubles.
inline std::vector<double> flat_parameters(const nn::Module& model) {
  std::vector<double> values;
  for (const Tensor& parameter : model.parameters()) {
    const std::vector<double> part = parameter.to(Device::cpu()).to(DType::f64).contiguous().to_vector<double>();
    values.insert(values.end(), part.begin(), part.end());
  }
  return values;
}

// One process taking `steps` full-batch steps from tiny_model(100) with the optimizer `make`
// builds: the run a distributed one must reproduce. Its weights and optimizer state.
struct SingleProcessRun {
  std::vector<double> weights;
  optim::OptimizerState state;
};
using MakeOptimizer = std::function<std::unique_ptr<optim::Optimizer>(const std::vector<Tensor>& parameters)>;
inline SingleProcessRun single_process_run(const MakeOptimizer& make, int steps, const Device& device = Device::cpu()) {
  const TinyProblem problem = tiny_problem(device);
  const auto model = tiny_model(100, device);
  const std::unique_ptr<optim::Optimizer> optimizer = make(model->parameters());
  for (int step = 0; step < steps; ++step) {
    optimizer->zero_grad();
    loss_on_rows(*model, problem, 0, 12).backward();
    optimizer->step();
  }
  return {flat_parameters(*model), optimizer->state()};
}

// max |a - b| over max |b|: the difference relative to the size of the weights. (Per element
// it would blow up for weights near zero, where a one-ulp difference of a larger intermediate
// is a large fraction.)
inline double relative_difference(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return 1e30;
  double difference = 0;
  double scale = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    difference = std::max(difference, std::abs(a[i] - b[i]));
    scale = std::max(scale, std::abs(b[i]));
  }
  return difference / scale;
}

}  // namespace ember::testing
