#include "distributed/launcher.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <iostream>
#include <optional>
#include <random>
#include <sstream>

#include "core/error.h"
#include "distributed/temporary_directory.h"

extern char** environ;

namespace ember::distributed {

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::chrono::seconds kGracePeriod{5};  // between SIGTERM and SIGKILL

// Set by SIGINT / SIGTERM sent to the launcher: the ranks get SIGTERM too.
volatile std::sig_atomic_t interrupted = 0;
void note_interrupt(int) { interrupted = 1; }

class SignalForwarding {
 public:
  SignalForwarding() {
    interrupted = 0;
    struct sigaction action = {};
    action.sa_handler = note_interrupt;
    sigaction(SIGINT, &action, &old_int_);
    sigaction(SIGTERM, &action, &old_term_);
  }
  ~SignalForwarding() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }
  SignalForwarding(const SignalForwarding&) = delete;
  SignalForwarding& operator=(const SignalForwarding&) = delete;

 private:
  struct sigaction old_int_ = {};
  struct sigaction old_term_ = {};
};

// One rank's process and the read end of the pipe carrying its output.
struct RankProcess {
  pid_t pid = -1;
  int output = -1;          // -1 once the pipe reached end of file
  std::string pending;      // output after the last newline
  std::optional<int> exit_code;
};

// 64 random bits in hex: two launches never share an id.
std::string fresh_run_id() {
  std::random_device random;
  std::ostringstream id;
  id << "run-" << std::hex << random() << random();
  return id.str();
}

// The environment a rank starts with: the launcher's, with the run's variables set.
std::vector<std::string> rank_environment(const LaunchOptions& options, const std::string& store, int rank) {
  // (options.run_id is set by launch_local before any rank starts.)
  std::map<std::string, std::string> variables;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string text = *entry;
    const std::size_t equals = text.find('=');
    if (equals != std::string::npos) variables[text.substr(0, equals)] = text.substr(equals + 1);
  }
  for (const auto& [name, value] : options.environment) variables[name] = value;
  variables["RANK"] = std::to_string(rank);
  variables["LOCAL_RANK"] = std::to_string(rank);
  variables["WORLD_SIZE"] = std::to_string(options.nproc);
  variables["LOCAL_WORLD_SIZE"] = std::to_string(options.nproc);
  variables["EMBER_STORE"] = store;
  variables["EMBER_RUN_ID"] = options.run_id;
  std::vector<std::string> entries;
  for (const auto& [name, value] : variables) entries.push_back(name + "=" + value);
  return entries;
}

std::vector<char*> pointers_to(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  for (std::string& text : strings) pointers.push_back(text.data());
  pointers.push_back(nullptr);
  return pointers;
}

RankProcess start_rank(const LaunchOptions& options, const std::string& store, int rank) {
  // Everything the child needs is built before fork: after it, only async-signal-safe calls.
  std::vector<std::string> arguments = options.command;
  std::vector<std::string> environment = rank_environment(options, store, rank);
  std::vector<char*> argv = pointers_to(arguments);
  std::vector<char*> envp = pointers_to(environment);
  int pipe_ends[2];
  EMBER_CHECK(pipe2(pipe_ends, O_CLOEXEC) == 0, "launch_local: cannot create a pipe for rank ", rank);
  const pid_t pid = fork();
  EMBER_CHECK(pid >= 0, "launch_local: cannot start rank ", rank, " (fork failed)");
  if (pid == 0) {
    dup2(pipe_ends[1], STDOUT_FILENO);
    dup2(pipe_ends[1], STDERR_FILENO);
    execvpe(argv[0], argv.data(), envp.data());
    const char message[] = "ember-run: cannot execute the program\n";
    [[maybe_unused]] const ssize_t written = write(STDERR_FILENO, message, sizeof(message) - 1);
    _exit(127);
  }
  close(pipe_ends[1]);
  RankProcess process;
  process.pid = pid;
  process.output = pipe_ends[0];
  return process;
}

int exit_code_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

// Reads what is available from `process`'s pipe and hands complete lines to on_line.
void drain(RankProcess& process, int rank, const LaunchOptions& options) {
  char buffer[4096];
  const ssize_t count = read(process.output, buffer, sizeof(buffer));
  if (count > 0) {
    process.pending.append(buffer, static_cast<std::size_t>(count));
    std::size_t newline;
    while ((newline = process.pending.find('\n')) != std::string::npos) {
      options.on_line(rank, std::string_view(process.pending).substr(0, newline));
      process.pending.erase(0, newline + 1);
    }
    return;
  }
  if (count < 0 && errno == EINTR) return;
  if (!process.pending.empty()) options.on_line(rank, process.pending);  // a last line without newline
  process.pending.clear();
  close(process.output);
  process.output = -1;
}

void signal_running(std::vector<RankProcess>& processes, int signal) {
  for (const RankProcess& process : processes) {
    if (!process.exit_code) kill(process.pid, signal);
  }
}

}  // namespace

int LaunchResult::exit_code() const {
  if (first_failed_rank < 0) return hit_time_limit ? 1 : 0;
  const int code = exit_codes[static_cast<std::size_t>(first_failed_rank)];
  return code != 0 ? code : 1;
}

LaunchResult launch_local(const LaunchOptions& options_in) {
  LaunchOptions options = options_in;
  EMBER_CHECK(options.nproc >= 1, "launch_local: nproc must be at least 1, got ", options.nproc);
  EMBER_CHECK(!options.command.empty(), "launch_local: no program to run");
  if (!options.on_line) {
    options.on_line = [](int rank, std::string_view line) { std::cout << "[rank " << rank << "] " << line << '\n' << std::flush; };
  }
  std::optional<TemporaryDirectory> scratch_store;  // removed after the run
  const std::string store = options.store.empty() ? scratch_store.emplace("ember-run").url() : options.store;
  if (options.run_id.empty()) options.run_id = fresh_run_id();

  SignalForwarding forwarding;
  std::vector<RankProcess> processes;
  for (int rank = 0; rank < options.nproc; ++rank) processes.push_back(start_rank(options, store, rank));

  LaunchResult result;
  const Clock::time_point start = Clock::now();
  std::optional<Clock::time_point> kill_at;  // when SIGKILL follows the SIGTERM already sent
  auto stop_all = [&] {
    if (kill_at) return;
    signal_running(processes, SIGTERM);
    kill_at = Clock::now() + kGracePeriod;
  };
  while (true) {
    std::vector<pollfd> watched;
    std::vector<int> ranks;
    for (int rank = 0; rank < options.nproc; ++rank) {
      if (processes[rank].output >= 0) {
        watched.push_back({processes[rank].output, POLLIN, 0});
        ranks.push_back(rank);
      }
    }
    if (!watched.empty() && poll(watched.data(), watched.size(), 100) > 0) {
      for (std::size_t i = 0; i < watched.size(); ++i) {
        if (watched[i].revents != 0) drain(processes[ranks[i]], ranks[i], options);
      }
    } else if (watched.empty()) {
      usleep(10000);
    }
    bool all_exited = true;
    for (int rank = 0; rank < options.nproc; ++rank) {
      RankProcess& process = processes[rank];
      if (process.exit_code) continue;
      int status = 0;
      if (waitpid(process.pid, &status, WNOHANG) == process.pid) {
        process.exit_code = exit_code_of(status);
        if (*process.exit_code != 0 && result.first_failed_rank < 0) {
          result.first_failed_rank = rank;
          if (options.stop_others_on_failure) stop_all();
        }
      } else {
        all_exited = false;
      }
    }
    if (all_exited && watched.empty()) break;
    if (interrupted) stop_all();
    if (options.time_limit.count() > 0 && !result.hit_time_limit && Clock::now() - start > options.time_limit) {
      result.hit_time_limit = true;
      signal_running(processes, SIGKILL);
    }
    if (kill_at && Clock::now() > *kill_at) signal_running(processes, SIGKILL);
  }
  for (const RankProcess& process : processes) result.exit_codes.push_back(*process.exit_code);
  return result;
}

}  // namespace ember::distributed
