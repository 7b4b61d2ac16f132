#pragma once
// The readers under fuzzing take paths, as a user's files reach them: each input is written to a
// file of this process, and the harness hands the reader its path.
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <string>
#include <unistd.h>

namespace ember::fuzz {

// Writes the input to /tmp/ember-fuzz-<pid>.<suffix> (the same file every call) and returns its path.
inline const std::string& input_file(const std::uint8_t* data, std::size_t size, const char* suffix) {
  static const std::string path = "/tmp/ember-fuzz-" + std::to_string(::getpid()) + "." + suffix;
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char*>(data),
                                                                static_cast<std::streamsize>(size));
  return path;
}

}  // namespace ember::fuzz
