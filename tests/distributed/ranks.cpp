#include "ranks.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "core/error.h"
#include "distributed/init.h"

namespace ember::testing {

namespace {

std::map<std::string, Scenario>& scenarios() {
  static std::map<std::string, Scenario> registry;
  return registry;
}

}  // namespace

std::string this_program() { return std::filesystem::read_symlink("/proc/self/exe").string(); }

bool register_scenario(const char* name, Scenario scenario) {
  scenarios()[name] = scenario;
  return true;
}

std::string RanksRun::report() const {
  std::ostringstream text;
  text << "exit codes:";
  for (const int code : result.exit_codes) text << ' ' << code;
  for (std::size_t rank = 0; rank < output.size(); ++rank) text << "\n--- rank " << rank << " ---\n" << output[rank];
  return text.str();
}

RanksRun run_ranks(const char* scenario, int nproc, const RanksOptions& options) {
  RanksRun run;
  run.scratch = std::make_shared<distributed::TemporaryDirectory>("ember-ranks");
  run.directory = run.scratch->path();
  run.output.resize(static_cast<std::size_t>(nproc));
  distributed::LaunchOptions launch;
  launch.nproc = nproc;
  launch.command = {this_program()};
  launch.store = options.store.empty() ? "file://" + run.directory + "/store" : options.store;
  launch.environment = {{"EMBER_TEST_SCENARIO", scenario},
                        {"EMBER_TEST_DIR", run.directory},
                        {"EMBER_TEST_TIMEOUT_MS", std::to_string(options.group_timeout.count())}};
  launch.environment.insert(options.environment.begin(), options.environment.end());
  launch.stop_others_on_failure = options.stop_others_on_failure;
  launch.time_limit = std::chrono::minutes(2);
  launch.on_line = [&](int rank, std::string_view line) {
    run.output[static_cast<std::size_t>(rank)].append(line).append("\n");
  };
  const auto start = std::chrono::steady_clock::now();
  run.result = distributed::launch_local(launch);
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return run;
}

int run_scenario_if_rank() {
  const char* name = std::getenv("EMBER_TEST_SCENARIO");
  if (name == nullptr) return -1;
  try {
    const auto found = scenarios().find(name);
    EMBER_CHECK(found != scenarios().end(), "no scenario named '", name, "'");
    distributed::InitOptions options;
    options.timeout = std::chrono::milliseconds(std::stol(std::getenv("EMBER_TEST_TIMEOUT_MS")));
    const auto group = distributed::init_process_group(options);
    found->second(group, std::getenv("EMBER_TEST_DIR"));
    return 0;
  } catch (const std::exception& error) {
    std::cout << "error: " << error.what() << std::endl;
    return 1;
  }
}

void require(bool condition, const std::string& message) {
  if (!condition) throw Error(message);
}

void write_values(const std::string& path, const std::vector<double>& values) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(values.data()), static_cast<std::streamsize>(values.size() * sizeof(double)));
  EMBER_CHECK(out.good(), "write_values: cannot write ", path);
}

std::vector<double> read_values(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  EMBER_CHECK(in.good(), "read_values: cannot read ", path);
  std::vector<double> values(static_cast<std::size_t>(in.tellg()) / sizeof(double));
  in.seekg(0);
  in.read(reinterpret_cast<char*>(values.data()), static_cast<std::streamsize>(values.size() * sizeof(double)));
  return values;
}

}  // namespace ember::testing
