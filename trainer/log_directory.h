#pragma once
// Where a logger writes: <root>/version_<N>, N the given version or the first free one; and how.
#include <string>

namespace ember::trainer {

std::string version_directory(const std::string& root, int version);

// Writes (atomically) a log file that its logger rewrites whole at every epoch end. A write the
// environment refuses (a full disk) is a warning on stderr, not the end of the run: the file
// keeps its last whole version, and the next epoch's write brings it up to date.
void write_log_file(const std::string& path, const char* logger, const std::string& text);

}  // namespace ember::trainer
