#pragma once
// Benches that measure several ranks: started plainly, they launch themselves as `nproc` ranks
// on this machine (launch_local, as ember-run does; one compute thread each) and print rank 0's
// lines. Started as a rank (RANK is set), they run `run_rank`.
//
//   bench [nproc=2]
#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string_view>

#include "core/error.h"
#include "distributed/launcher.h"

namespace ember::bench {

inline int main_with_ranks(int argc, char** argv, const char* bench_name, int (*run_rank)()) {
  if (std::getenv("RANK") != nullptr) return run_rank();
  distributed::LaunchOptions launch;
  launch.nproc = 2;
  CLI::App app{"Launches itself as nproc ranks on this machine and prints rank 0's table", bench_name};
  app.add_option("nproc", launch.nproc, "ranks")->check(CLI::Range(2, 64))->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  try {
    launch.command = {std::filesystem::read_symlink("/proc/self/exe").string()};
    launch.environment = {{"OMP_NUM_THREADS", "1"}};
    launch.on_line = [](int rank, std::string_view line) {
      if (rank == 0) std::printf("%.*s\n", static_cast<int>(line.size()), line.data());
    };
    return distributed::launch_local(launch).exit_code();
  } catch (const std::exception& error) {
    std::fprintf(stderr, "%s: %s\n", bench_name, error.what());
    return 1;
  }
}

}  // namespace ember::bench
