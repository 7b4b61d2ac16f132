#pragma once
// launch_local: starts N copies of a program on this machine as one distributed run, the way
// torchrun does. Each gets RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE and EMBER_STORE; their
// output comes back line by line, marked with the rank. When one exits with an error the others
// are stopped (SIGTERM, then SIGKILL after a grace period) and the launch reports the failure.
// tools/ember-run is the command-line face of this; the multi-rank tests use it directly.
#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace ember::distributed {

struct LaunchOptions {
  int nproc = 1;
  std::vector<std::string> command;  // program and arguments; the program is looked up in PATH
  // Rendezvous store; empty: a fresh directory under $TMPDIR, removed after the run.
  std::string store;
  // EMBER_RUN_ID of the ranks (distributed/environment.h); empty: a fresh random one per launch.
  std::string run_id;
  std::map<std::string, std::string> environment;  // extra variables for every rank
  // Stop the other ranks as soon as one fails (torchrun's behaviour). Tests of failure handling
  // turn it off to watch the survivors detect the loss themselves.
  bool stop_others_on_failure = true;
  // Kill every rank still running after this long; zero: no limit.
  std::chrono::milliseconds time_limit{0};
  // Receives each line a rank writes (stdout and stderr), without the newline. Default: print
  // "[rank R] line" to stdout.
  std::function<void(int rank, std::string_view line)> on_line;
};

struct LaunchResult {
  std::vector<int> exit_codes;  // per rank: the exit status, or 128 + signal when killed
  int first_failed_rank = -1;   // the rank that failed first, -1 when all succeeded
  bool hit_time_limit = false;
  // 0 when every rank succeeded, else the first failure's exit code (1 when over the time limit).
  int exit_code() const;
};

LaunchResult launch_local(const LaunchOptions& options);

}  // namespace ember::distributed
