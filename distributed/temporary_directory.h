#pragma once
// TemporaryDirectory: a fresh, private directory under $TMPDIR (mkdtemp), removed with
// everything in it when the object goes away. Rendezvous stores that must be new for each run
// live in one.
#include <string>

namespace ember::distributed {

class TemporaryDirectory {
 public:
  // `prefix` starts the directory's name ("ember-run" -> /tmp/ember-run-a1B2c3).
  explicit TemporaryDirectory(const std::string& prefix);
  ~TemporaryDirectory();
  TemporaryDirectory(const TemporaryDirectory&) = delete;
  TemporaryDirectory& operator=(const TemporaryDirectory&) = delete;

  const std::string& path() const { return path_; }
  // The directory as a file store URL: file:///tmp/...
  std::string url() const { return "file://" + path_; }

 private:
  std::string path_;
};

}  // namespace ember::distributed
