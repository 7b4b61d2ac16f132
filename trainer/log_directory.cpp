#include "trainer/log_directory.h"

#include <algorithm>
#include <filesystem>
#include <iostream>

#include "distributed/environment.h"
#include "io/atomic_file.h"

namespace ember::trainer {

std::string version_directory(const std::string& root, int version) {
  // In a distributed run only rank 0 writes logs, so only it creates directories (the other
  // ranks' choice of version is never used).
  const bool writes = distributed::read_world_from_environment().rank == 0;
  if (!writes) return (std::filesystem::path(root) / ("version_" + std::to_string(std::max(version, 0)))).string();
  std::filesystem::create_directories(root);
  if (version < 0) {
    version = 0;
    while (std::filesystem::exists(std::filesystem::path(root) / ("version_" + std::to_string(version)))) ++version;
  }
  const std::filesystem::path directory = std::filesystem::path(root) / ("version_" + std::to_string(version));
  std::filesystem::create_directories(directory);
  return directory.string();
}

void write_log_file(const std::string& path, const char* logger, const std::string& text) {
  try {
    io::write_text_atomically(path, logger, text);
  } catch (const io::WriteError& error) {
    std::cerr << "ember: warning: " << error.what() << "; training goes on, the next epoch writes it again\n";
  }
}

}  // namespace ember::trainer
