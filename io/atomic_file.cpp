#include "io/atomic_file.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <utility>

namespace ember::io {

namespace {

template <class... Parts>
[[noreturn]] void fail_write(Parts&&... parts) {
  std::ostringstream message;
  (message << ... << std::forward<Parts>(parts));
  throw WriteError(message.str());
}

// Writes to the temporary file of `target`; a failure names the target the user asked for, the
// temporary and the system's reason (a full disk: "No space left on device").
class DescriptorSink : public FileSink {
 public:
  DescriptorSink(int fd, const std::string& target, const std::string& temporary, const char* what)
      : fd_(fd), target_(target), temporary_(temporary), what_(what) {}
  void write(const void* bytes, std::size_t count) override {
    const char* next = static_cast<const char*>(bytes);
    while (count > 0) {
      const ssize_t written = ::write(fd_, next, count);
      if (written < 0 && errno == EINTR) continue;
      if (written <= 0) {
        fail_write(what_, ": writing ", target_, " (through ", temporary_, ") failed: ", std::strerror(errno),
                   "; any previous ", target_, " is untouched");
      }
      next += written;
      count -= static_cast<std::size_t>(written);
    }
  }

 private:
  int fd_;
  const std::string& target_;
  const std::string& temporary_;
  const char* what_;
};

// The temporaries of `target` left by processes that died mid-write (killed, out of power):
// "<name>.tmp.<pid>" whose pid no longer runs. Removed before each write, so they never pile up.
void remove_stale_temporaries(const std::filesystem::path& target) {
  const std::filesystem::path directory = target.parent_path().empty() ? "." : target.parent_path();
  const std::string prefix = target.filename().string() + ".tmp.";
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(directory, error)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    const std::string pid_text = name.substr(prefix.size());
    if (pid_text.empty() || pid_text.find_first_not_of("0123456789") != std::string::npos || pid_text.size() > 9) {
      continue;
    }
    const pid_t pid = static_cast<pid_t>(std::stol(pid_text));
    if (::kill(pid, 0) != 0 && errno == ESRCH) std::filesystem::remove(entry.path(), error);
  }
}

}  // namespace

void write_atomically(const std::string& path, const char* what, const std::function<void(FileSink&)>& fill) {
  const std::filesystem::path target(path);
  std::filesystem::path temporary_name = target.filename();
  temporary_name += ".tmp." + std::to_string(::getpid());
  const std::string temporary = (target.parent_path() / temporary_name).string();
  remove_stale_temporaries(target);
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail_write(what, ": cannot create ", temporary, " to write ", path, ": ", std::strerror(errno));
  // On a failure: the write's own error is the one to report, not the removal's.
  const auto discard_temporary = [&] {
    std::error_code ignored;
    std::filesystem::remove(temporary, ignored);
  };
  try {
    DescriptorSink sink(fd, path, temporary, what);
    fill(sink);
    if (::fsync(fd) != 0) fail_write(what, ": fsync of ", temporary, " (for ", path, ") failed: ", std::strerror(errno));
  } catch (...) {
    ::close(fd);
    discard_temporary();
    throw;
  }
  // close() can report a write error the file system deferred (NFS): the file is not saved then.
  if (::close(fd) != 0) {
    const int reason = errno;
    discard_temporary();
    fail_write(what, ": closing ", temporary, " (for ", path, ") failed: ", std::strerror(reason));
  }
  std::error_code error;
  std::filesystem::rename(temporary, target, error);
  if (error) {
    discard_temporary();
    fail_write(what, ": cannot rename ", temporary, " to ", path, ": ", error.message());
  }
  // Make the rename itself durable.
  const int dir = ::open(target.parent_path().empty() ? "." : target.parent_path().c_str(), O_RDONLY | O_DIRECTORY);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
}

void write_text_atomically(const std::string& path, const char* what, const std::string& text) {
  write_atomically(path, what, [&](FileSink& sink) { sink.write(text.data(), text.size()); });
}

}  // namespace ember::io
