#pragma once
// The command line of the CPU benches that time ember beside PyTorch (conv_bench,
// kernels_bench): --threads and --repeats for both sides, --rounds of alternating measurements
// (bench/rounds.h), and the arguments that pass them on to bench/peers/torch_cpu_kernels.py.
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/threading.h"

namespace ember::bench {

struct CpuBenchOptions {
  int threads = 2;
  int repeats = 11;
  int rounds = 3;

  // The peer script's arguments for measurements of `kind` (conv, matmul, elementwise).
  std::vector<std::string> peer_arguments(const char* kind) const {
    return {"--threads", std::to_string(threads), "--repeats", std::to_string(repeats), kind};
  }
};

// Parses the command line (--help prints it and exits 0, a bad value exits non-zero naming the
// flag) and sets ember's thread count.
inline CpuBenchOptions parse_cpu_bench_options(int argc, char** argv, const char* name, const char* description) {
  CpuBenchOptions options;
  CLI::App app{description, name};
  app.add_option("--threads", options.threads, "compute threads (ember's and PyTorch's)")
      ->check(CLI::Range(1, 1024))->capture_default_str();
  app.add_option("--repeats", options.repeats, "timed calls per measurement (the median is shown)")
      ->check(CLI::Range(1, 1000))->capture_default_str();
  app.add_option("--rounds", options.rounds, "rounds of limits, ember, peer in turn (each side's best is shown)")
      ->check(CLI::Range(1, 100))->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    std::exit(app.exit(error));
  }
  set_num_threads(options.threads);
  return options;
}

}  // namespace ember::bench
