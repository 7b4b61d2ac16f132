#pragma once
// Runs one program to its end with its output (stdout and stderr) in a log file: each of the
// bench's training runs is a process of its own, so that its peak memory and its threads
// belong to that run alone.
#include <string>
#include <vector>

namespace six_techniques {

// Returns the exit status, or 128 + the signal that ended it.
int run_child(const std::vector<std::string>& command, const std::string& log_path);

// The last `lines` lines of a log, to show why a run failed.
std::string log_tail(const std::string& log_path, int lines);

}  // namespace six_techniques
