#include "distributed/temporary_directory.h"

#include <stdlib.h>

#include <filesystem>

#include "core/error.h"

namespace ember::distributed {

TemporaryDirectory::TemporaryDirectory(const std::string& prefix) {
  std::string pattern = (std::filesystem::temp_directory_path() / (prefix + "-XXXXXX")).string();
  EMBER_CHECK(mkdtemp(pattern.data()) != nullptr, "TemporaryDirectory: cannot create a directory under ",
              std::filesystem::temp_directory_path().string());
  path_ = pattern;
}

TemporaryDirectory::~TemporaryDirectory() {
  std::error_code ignored;  // nothing useful to do if it is already gone
  std::filesystem::remove_all(path_, ignored);
}

}  // namespace ember::distributed
