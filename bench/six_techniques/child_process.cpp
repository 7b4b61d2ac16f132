#include "child_process.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <fstream>

#include "core/error.h"

extern char** environ;

namespace six_techniques {

int run_child(const std::vector<std::string>& command, const std::string& log_path) {
  EMBER_CHECK(!command.empty(), "run_child: no program");
  std::vector<char*> argv;
  for (const std::string& word : command) argv.push_back(const_cast<char*>(word.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  pid_t pid = 0;
  const int spawned = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  EMBER_CHECK(spawned == 0, "run_child: could not start ", command.front(), ": ", std::strerror(spawned));
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    EMBER_CHECK(errno == EINTR, "run_child: waitpid for ", command.front(), ": ", std::strerror(errno));
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string log_tail(const std::string& log_path, int lines) {
  std::ifstream log(log_path);
  std::deque<std::string> last;
  for (std::string line; std::getline(log, line);) {
    last.push_back(line);
    if (static_cast<int>(last.size()) > lines) last.pop_front();
  }
  std::string text;
  for (const std::string& line : last) text += "  " + line + "\n";
  return text;
}

}  // namespace six_techniques
