#include "trainer/log_directory.h"

#include <filesystem>

namespace ember::trainer {

std::string version_directory(const std::string& root, int version) {
  std::filesystem::create_directories(root);
  if (version < 0) {
    version = 0;
    while (std::filesystem::exists(std::filesystem::path(root) / ("version_" + std::to_string(version)))) ++version;
  }
  const std::filesystem::path directory = std::filesystem::path(root) / ("version_" + std::to_string(version));
  std::filesystem::create_directories(directory);
  return directory.string();
}

}  // namespace ember::trainer
