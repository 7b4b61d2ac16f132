#pragma once
// Doubles as text that reads back exactly (the shortest round-trip form, like Python's repr),
// for checkpoints' metadata and metrics.csv.
#include <charconv>
#include <string>

namespace ember::trainer {

inline std::string exact_text(double value) {
  char buffer[32];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  return std::string(buffer, result.ptr);
}

}  // namespace ember::trainer
