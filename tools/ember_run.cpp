// ember-run: starts N local processes as one distributed run, like torchrun.
//
//   ember-run --nproc 2 [--store file:///dir | redis://host:port] program [args...]
//
// Each process gets RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE and EMBER_STORE; its output is
// printed with a "[rank R]" prefix. When one exits with an error, the others are stopped and
// ember-run exits with that error's code. Cluster launchers (Slurm, mpirun) start one process
// per rank themselves and only need to export the same variables.
#include <cstdlib>
#include <iostream>
#include <string>

#include "core/error.h"
#include "distributed/launcher.h"

namespace {

int usage(const std::string& problem) {
  std::cerr << "ember-run: " << problem << "\n"
            << "usage: ember-run --nproc N [--store file:///dir|redis://host:port] program [args...]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  ember::distributed::LaunchOptions options;
  int index = 1;
  for (; index < argc; ++index) {
    const std::string argument = argv[index];
    auto value = [&](const std::string& flag) -> std::string {
      if (argument.rfind(flag + "=", 0) == 0) return argument.substr(flag.size() + 1);
      if (index + 1 >= argc) throw ember::Error(flag + " needs a value");
      return argv[++index];
    };
    try {
      if (argument == "--") {
        ++index;
        break;
      } else if (argument == "--nproc" || argument.rfind("--nproc=", 0) == 0) {
        options.nproc = std::stoi(value("--nproc"));
      } else if (argument == "--store" || argument.rfind("--store=", 0) == 0) {
        options.store = value("--store");
      } else if (argument == "--help" || argument == "-h") {
        return usage("starts N local processes as one distributed run");
      } else if (argument.rfind("--", 0) == 0) {
        return usage("unknown option " + argument);
      } else {
        break;
      }
    } catch (const std::exception& error) {
      return usage(error.what());
    }
  }
  if (index >= argc) return usage("no program to run");
  if (options.nproc < 1) return usage("--nproc must be at least 1");
  options.command.assign(argv + index, argv + argc);
  try {
    const ember::distributed::LaunchResult result = ember::distributed::launch_local(options);
    if (result.first_failed_rank >= 0) {
      std::cerr << "ember-run: rank " << result.first_failed_rank << " exited with code "
                << result.exit_codes[static_cast<std::size_t>(result.first_failed_rank)]
                << "; the other ranks were stopped\n";
    }
    return result.exit_code();
  } catch (const ember::Error& error) {
    std::cerr << "ember-run: " << error.what() << "\n";
    return 1;
  }
}
