// Gloo all_reduce bus bandwidth over loopback, 1 KB to 256 MB, with nccl-tests' formula:
// algorithm bandwidth = bytes / time, bus bandwidth = algbw * 2 (N - 1) / N (what each link
// carries in a ring all-reduce, comparable across N). Beside ember's figure: PyTorch 1.13's Gloo
// all_reduce (python3-torch) measured in the same run with the same loop, when installed.
//
//   ./build/bench/gloo_all_reduce [nproc=2]
//
// Started plainly it launches itself as nproc ranks (launch_local); rank 0 prints the table.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "core/ember.h"
#include "distributed/init.h"
#include "launch_ranks.h"
#include "python_peer.h"

using namespace ember;

namespace {

std::vector<std::int64_t> sizes_in_bytes() {
  std::vector<std::int64_t> sizes;
  for (std::int64_t bytes = 1024; bytes <= (256 << 20); bytes *= 4) sizes.push_back(bytes);
  return sizes;
}

int iterations(std::int64_t bytes) { return static_cast<int>(std::max<std::int64_t>(3, std::min<std::int64_t>(50, (64 << 20) / bytes))); }

// PyTorch's figures, seconds per all_reduce by size; empty when python3-torch is missing.
std::map<std::int64_t, double> peer_seconds(int nproc) {
  std::vector<std::string> arguments{std::to_string(nproc)};
  for (const std::int64_t bytes : sizes_in_bytes()) arguments.push_back(std::to_string(bytes));
  std::map<std::int64_t, double> seconds;
  for (const auto& [bytes, time] : bench::run_python_peer("torch_gloo_all_reduce.py", arguments)) {
    seconds[std::stoll(bytes)] = time;
  }
  return seconds;
}

double bus_bandwidth_gbs(std::int64_t bytes, double seconds, int nproc) {
  return static_cast<double>(bytes) / seconds * 2.0 * (nproc - 1) / nproc / 1e9;
}

int run_rank() {
  const auto group = distributed::init_process_group();
  std::map<std::int64_t, double> ember_seconds;
  for (const std::int64_t bytes : sizes_in_bytes()) {
    const Tensor tensor = ones({bytes / 4});
    for (int i = 0; i < 2; ++i) group->all_reduce(tensor)->wait();
    group->barrier()->wait();
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < iterations(bytes); ++i) group->all_reduce(tensor)->wait();
    ember_seconds[bytes] = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / iterations(bytes);
  }
  group->barrier()->wait();
  if (group->rank() != 0) return 0;
  // The other ranks are done computing: the peer runs alone.
  const std::map<std::int64_t, double> peer = peer_seconds(group->size());
  std::printf("all_reduce (sum, f32) over Gloo on loopback, %d ranks; bus bandwidth = bytes/time * 2(N-1)/N\n",
              group->size());
  std::printf("%10s %14s %14s %16s %16s\n", "bytes", "ember us", "ember GB/s", "PyTorch us", "PyTorch GB/s");
  for (const auto& [bytes, seconds] : ember_seconds) {
    std::printf("%10lld %14.1f %14.3f", static_cast<long long>(bytes), seconds * 1e6,
                bus_bandwidth_gbs(bytes, seconds, group->size()));
    const auto found = peer.find(bytes);
    if (found != peer.end()) {
      std::printf(" %16.1f %16.3f\n", found->second * 1e6, bus_bandwidth_gbs(bytes, found->second, group->size()));
    } else {
      std::printf(" %16s %16s\n", "-", "peer not installed");
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return ember::bench::main_with_ranks(argc, argv, "gloo_all_reduce", run_rank); }
