#pragma once
// Multi-rank tests. A TEST_CASE starts N copies of this test program as the ranks of one run
// (launch_local, like ember-run); each copy runs a named scenario instead of the doctest suite,
// with a Gloo process group over a fresh store. A scenario checks what it can itself (throwing
// ember::Error on a mismatch, which fails its rank) and writes values for the TEST_CASE to
// compare into the run's directory.
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "distributed/launcher.h"
#include "distributed/process_group.h"
#include "distributed/temporary_directory.h"

namespace ember::testing {

using Scenario = void (*)(const std::shared_ptr<distributed::ProcessGroup>& group, const std::string& directory);

// Registers `scenario` under `name` (at static initialisation, see RANK_SCENARIO).
bool register_scenario(const char* name, Scenario scenario);

#define RANK_SCENARIO(name)                                                                          \
  static void name(const std::shared_ptr<::ember::distributed::ProcessGroup>& group, const std::string& directory); \
  [[maybe_unused]] static const bool name##_registered = ::ember::testing::register_scenario(#name, name); \
  static void name([[maybe_unused]] const std::shared_ptr<::ember::distributed::ProcessGroup>& group, \
                   [[maybe_unused]] const std::string& directory)

struct RanksOptions {
  std::chrono::milliseconds group_timeout{20000};  // the process group's timeout in each rank
  bool stop_others_on_failure = true;
  std::map<std::string, std::string> environment;  // extra variables for the ranks
  std::string store;  // the rendezvous store's URL; empty: a fresh one in the run's directory
};

struct RanksRun {
  distributed::LaunchResult result;
  std::vector<std::string> output;  // per rank, all its lines
  std::shared_ptr<distributed::TemporaryDirectory> scratch;  // removed with the last copy
  std::string directory;            // where the ranks wrote their values (inside scratch)
  double seconds = 0;               // wall time of the whole run
  bool succeeded() const { return result.exit_code() == 0; }
  std::string report() const;       // the exit codes and every rank's output, for failed checks
};

// The path of this test program (to start its copies as ranks).
std::string this_program();

// Runs `scenario` as `nproc` ranks and waits for all of them (at most two minutes).
RanksRun run_ranks(const char* scenario, int nproc, const RanksOptions& options = {});

// In main: when this process was started as a rank, runs its scenario and returns the exit code.
// Returns -1 in the doctest process itself.
int run_scenario_if_rank();

// Fails (throws ember::Error) with `message` unless `condition` holds.
void require(bool condition, const std::string& message);

// Values handed from ranks to the TEST_CASE: doubles in a raw file.
void write_values(const std::string& path, const std::vector<double>& values);
std::vector<double> read_values(const std::string& path);

}  // namespace ember::testing
