#include "io/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/error.h"

namespace ember::io {

namespace {

class DescriptorSink : public FileSink {
 public:
  DescriptorSink(int fd, const std::string& path, const char* what) : fd_(fd), path_(path), what_(what) {}
  void write(const void* bytes, std::size_t count) override {
    const char* next = static_cast<const char*>(bytes);
    while (count > 0) {
      const ssize_t written = ::write(fd_, next, count);
      if (written < 0 && errno == EINTR) continue;
      EMBER_CHECK(written > 0, what_, ": writing ", path_, " failed: ", std::strerror(errno));
      next += written;
      count -= static_cast<std::size_t>(written);
    }
  }

 private:
  int fd_;
  const std::string& path_;
  const char* what_;
};

}  // namespace

void write_atomically(const std::string& path, const char* what, const std::function<void(FileSink&)>& fill) {
  const std::filesystem::path target(path);
  std::filesystem::path temporary_name = target.filename();
  temporary_name += ".tmp." + std::to_string(::getpid());
  const std::string temporary = (target.parent_path() / temporary_name).string();
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  EMBER_CHECK(fd >= 0, what, ": cannot create ", temporary, ": ", std::strerror(errno));
  try {
    DescriptorSink sink(fd, temporary, what);
    fill(sink);
    EMBER_CHECK(::fsync(fd) == 0, what, ": fsync of ", temporary, " failed: ", std::strerror(errno));
  } catch (...) {
    ::close(fd);
    std::filesystem::remove(temporary);
    throw;
  }
  ::close(fd);
  std::error_code error;
  std::filesystem::rename(temporary, target, error);
  if (error) {
    std::filesystem::remove(temporary);
    fail(what, ": cannot rename ", temporary, " to ", path, ": ", error.message());
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
