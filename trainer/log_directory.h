#pragma once
// Where a logger writes: <root>/version_<N>, N the given version or the first free one.
#include <string>

namespace ember::trainer {

std::string version_directory(const std::string& root, int version);

}  // namespace ember::trainer
