// How much of DDP's communication hides behind backward, on CPU ranks over Gloo (loopback).
// The backward pass of a 6-layer, 1024-wide MLP (batch 64; 6.3M parameters, 25 MB of f32
// gradients), timed on every rank from a common start (a barrier), median of 20 steps:
//   backward alone     no communication at all
//   all-reduce alone   one all-reduce (avg) of all gradients laid end to end
//   sequential         backward, then that all-reduce, then the averages copied back
//   DDP, B MB buckets  backward with DDP's bucket all-reduces started from the gradient hooks
//                      while backward goes on (the first bucket 1 MB, as PyTorch's)
// hidden = (backward alone + all-reduce alone - DDP) / all-reduce alone: the share of the
// communication time that did not add to the step (0%: none overlapped; below 0: DDP costs more
// than the two done one after the other).
// Beside it, PyTorch 1.13's DDP (python3-torch) on the same model, measured the same way.
//
//   ./build/bench/ddp_overlap [nproc=2]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/ember.h"
#include "distributed/ddp.h"
#include "distributed/init.h"
#include "launch_ranks.h"
#include "nn/nn.h"
#include "python_peer.h"

using namespace ember;

namespace {

constexpr int kLayers = 6;
constexpr std::int64_t kWidth = 1024;
constexpr std::int64_t kBatch = 64;
constexpr int kWarmup = 2;
constexpr int kSteps = 20;

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The median over kSteps of what `step` returns (seconds), after kWarmup unmeasured steps.
double median_seconds(const std::function<double()>& step) {
  std::vector<double> times;
  for (int i = 0; i < kWarmup + kSteps; ++i) {
    const double time = step();
    if (i >= kWarmup) times.push_back(time);
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

int run_rank() {
  const auto group = distributed::init_process_group();
  manual_seed(1);
  nn::Sequential model;
  for (int i = 0; i < kLayers; ++i) {
    model.push_back(std::make_shared<nn::Linear>(kWidth, kWidth));
    model.push_back(std::make_shared<nn::ReLU>());
  }
  const std::vector<Tensor> parameters = model.parameters();
  const Tensor input = randn({kBatch, kWidth});
  std::int64_t elements = 0;
  for (const Tensor& parameter : parameters) elements += parameter.numel();
  const Tensor flat_gradients = zeros({elements});

  // One step: fresh gradients, an untimed forward, then `timed` from a common start.
  auto step = [&](const std::function<void(const Tensor& loss)>& timed) {
    return median_seconds([&] {
      model.zero_grad();
      const Tensor output = model.forward(input);
      const Tensor loss = mean(mul(output, output));
      group->barrier()->wait();
      const auto start = std::chrono::steady_clock::now();
      timed(loss);
      return seconds_since(start);
    });
  };
  auto all_reduce_gradients = [&] {
    NoGradGuard no_grad;
    std::int64_t offset = 0;
    for (const Tensor& parameter : parameters) {
      copy_(slice(flat_gradients, 0, offset, offset + parameter.numel()), flatten(parameter.grad()));
      offset += parameter.numel();
    }
    group->all_reduce(flat_gradients, distributed::ReduceOp::avg)->wait();
    offset = 0;
    for (const Tensor& parameter : parameters) {
      copy_(parameter.grad(), view(slice(flat_gradients, 0, offset, offset + parameter.numel()), parameter.sizes()));
      offset += parameter.numel();
    }
  };

  std::map<std::string, double> ember;
  ember["backward"] = step([](const Tensor& loss) { loss.backward(); });
  ember["allreduce"] = median_seconds([&] {
    group->barrier()->wait();
    const auto start = std::chrono::steady_clock::now();
    group->all_reduce(flat_gradients, distributed::ReduceOp::avg)->wait();
    return seconds_since(start);
  });
  ember["sequential"] = step([&](const Tensor& loss) {
    loss.backward();
    all_reduce_gradients();
  });
  for (const double cap : {25.0, 4.0}) {
    distributed::DistributedDataParallel ddp(parameters, {}, group, {.bucket_cap_mb = cap});
    ember["ddp" + std::to_string(static_cast<int>(cap))] = step([](const Tensor& loss) { loss.backward(); });
  }
  group->barrier()->wait();
  if (group->rank() != 0) return 0;

  // The other ranks are done computing: the peer runs alone.
  const std::map<std::string, double> peer = bench::run_python_peer(
      "torch_ddp_overlap.py", {std::to_string(group->size()), std::to_string(kLayers), std::to_string(kWidth),
                               std::to_string(kBatch), std::to_string(kWarmup), std::to_string(kSteps)});
  std::printf("DDP overlap, %d ranks over Gloo (loopback), 1 thread each: %d x Linear(%lld, %lld) + ReLU, batch %lld, "
              "%.1f MB of f32 gradients; median of %d steps\n",
              group->size(), kLayers, static_cast<long long>(kWidth), static_cast<long long>(kWidth),
              static_cast<long long>(kBatch), static_cast<double>(elements) * 4 / (1 << 20), kSteps);
  std::printf("%-28s %12s %14s %12s %14s\n", "", "ember ms", "ember hidden", "PyTorch ms", "PyTorch hidden");
  const std::vector<std::pair<std::string, std::string>> rows{{"backward", "backward alone"},
                                                              {"allreduce", "all-reduce alone"},
                                                              {"sequential", "backward, then all-reduce"},
                                                              {"ddp25", "DDP, 25 MB buckets"},
                                                              {"ddp4", "DDP, 4 MB buckets"}};
  auto hidden = [](const std::map<std::string, double>& times, const std::string& key) -> std::string {
    if (key.rfind("ddp", 0) != 0 || times.count(key) == 0) return "";
    char text[32];
    std::snprintf(text, sizeof(text), "%.0f%%",
                  100 * (times.at("backward") + times.at("allreduce") - times.at(key)) / times.at("allreduce"));
    return text;
  };
  for (const auto& [key, label] : rows) {
    std::printf("%-28s %12.1f %14s", label.c_str(), ember.at(key) * 1e3, hidden(ember, key).c_str());
    if (peer.count(key) != 0) {
      std::printf(" %12.1f %14s\n", peer.at(key) * 1e3, hidden(peer, key).c_str());
    } else {
      std::printf(" %12s %14s\n", "-", "peer not installed");
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return ember::bench::main_with_ranks(argc, argv, "ddp_overlap", run_rank); }
