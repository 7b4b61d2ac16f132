#pragma once
// Numbers as text: doubles written so that they read back exactly (the shortest round-trip form,
// like Python's repr), for checkpoints' metadata and metrics.csv, and the strict reading of
// numbers from such text.
#include <charconv>
#include <cmath>
#include <string>

#include "core/error.h"

namespace ember::trainer {

inline std::string exact_text(double value) {
  char buffer[32];
  const auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  return std::string(buffer, result.ptr);
}

// `text` as a T (a whole number type or double): the whole text, a number (no NaN), from
// `minimum` to `maximum`; anything else ("abc", "1xyz", "1e99" for a count, "-1" for an unsigned
// seed, 20 digits) is an Error naming `what` and the text.
template <class T>
T parse_number(const std::string& text, const std::string& what, T minimum, T maximum) {
  T value{};
  const auto [end, status] = std::from_chars(text.data(), text.data() + text.size(), value);
  bool valid = status == std::errc() && end == text.data() + text.size() && !text.empty();
  if constexpr (std::is_floating_point_v<T>) valid = valid && !std::isnan(value);
  EMBER_CHECK(valid && value >= minimum && value <= maximum, what, ": '", text, "' is not a number from ", minimum,
              " to ", maximum);
  return value;
}

}  // namespace ember::trainer
