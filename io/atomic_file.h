#pragma once
// Atomic file writes: nothing a user saved is ever lost or torn. The content goes to a
// temporary file in the target's directory, is flushed and fsync'd, and is renamed over the
// target (then the directory is fsync'd). A failure (a full disk, a file-size limit) is an
// WriteError naming the target and the system's reason, and leaves the old file and no
// temporary. A process killed mid-write leaves its temporary ("<name>.tmp.<pid>"), which nothing
// reads; the next write to the same target removes it.
#include <cstddef>
#include <functional>
#include <string>

#include "core/error.h"

namespace ember::io {

// What a failed write throws: the environment's refusal (a full disk, a quota, a file-size limit,
// an I/O error, a directory that cannot be written), which a caller may wait out and retry,
// rather than a bug in what it asked for.
class WriteError : public Error {
 public:
  using Error::Error;
};

class FileSink {
 public:
  virtual ~FileSink() = default;
  virtual void write(const void* bytes, std::size_t count) = 0;
};

// Calls fill(sink) to produce the content; `what` names the caller in error messages.
void write_atomically(const std::string& path, const char* what, const std::function<void(FileSink&)>& fill);
void write_text_atomically(const std::string& path, const char* what, const std::string& text);

}  // namespace ember::io
