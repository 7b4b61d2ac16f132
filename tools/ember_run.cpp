// ember-run: starts N local processes as one distributed run, like torchrun.
//
//   ember-run --nproc 2 [--store file:///dir | redis://host:port] [--run-id ID] program [args...]
//
// Each process gets RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, EMBER_STORE and EMBER_RUN_ID; its output is
// printed with a "[rank R]" prefix. When one exits with an error, the others are stopped and
// ember-run exits with that error's code. Cluster launchers (Slurm, mpirun) start one process
// per rank themselves and only need to export the same variables.
#include <CLI/CLI.hpp>
#include <iostream>
#include <string>

#include "core/error.h"
#include "distributed/launcher.h"

int main(int argc, char** argv) {
  ember::distributed::LaunchOptions options;
  CLI::App app{"Starts N local processes as one distributed run (like torchrun)", "ember-run"};
  app.add_option("--nproc", options.nproc, "processes to start")->check(CLI::Range(1, 4096))->capture_default_str();
  app.add_option("--store", options.store, "rendezvous store: file:///dir or redis://host:port (default: a "
                 "temporary file store)");
  app.add_option("--run-id", options.run_id, "the run's EMBER_RUN_ID, the prefix of its keys in the store "
                 "(default: a fresh random one, so keys an earlier run left are never read)");
  // Everything from the program on is the program's own command line.
  app.prefix_command();
  app.footer("usage: ember-run --nproc N [--store URL] [--run-id ID] program [args...]");
  CLI11_PARSE(app, argc, argv);
  options.command = app.remaining();
  if (!options.command.empty() && options.command.front() == "--") options.command.erase(options.command.begin());
  if (options.command.empty()) {
    std::cerr << "ember-run: no program to run\n" << app.help();
    return 2;
  }
  try {
    const ember::distributed::LaunchResult result = ember::distributed::launch_local(options);
    if (result.first_failed_rank >= 0) {
      std::cerr << "ember-run: rank " << result.first_failed_rank << " exited with code "
                << result.exit_codes[static_cast<std::size_t>(result.first_failed_rank)]
                << "; the other ranks were stopped\n";
    }
    return result.exit_code();
  } catch (const std::exception& error) {
    std::cerr << "ember-run: " << error.what() << "\n";
    return 1;
  }
}
