#pragma once
// Counters read back from a saved optimizer, scheduler or scaler state, where they travel as
// doubles (a checkpoint's metadata): a value that is not a whole number in range (NaN, inf,
// 1e300, -3, 2.5) is an Error naming it, where casting it to an integer would be undefined
// behaviour.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>

#include "core/error.h"

namespace ember::optim {

inline std::int64_t whole_count(double value, const std::string& what, std::int64_t minimum = 0) {
  constexpr double kLargest = 9007199254740992.0;  // 2^53: every whole number up to it is exact in a double
  EMBER_CHECK(std::isfinite(value) && value == std::floor(value) && value >= static_cast<double>(minimum) &&
                  value <= kLargest,
              what, ": expected a whole number from ", minimum, " to 2^53, got ", value);
  return static_cast<std::int64_t>(value);
}

// The <index> of a state entry's name "state.<index>.<field>" (the numbering of PyTorch's
// optimizer state_dict); a name of another form is an Error naming it and `what`.
inline std::size_t state_index(const std::string& name, const std::string& what) {
  const std::size_t dot = name.find('.', 6);
  std::size_t index = 0;
  const char* first = name.data() + std::min<std::size_t>(6, name.size());
  const char* last = name.data() + (dot == std::string::npos ? name.size() : dot);
  const auto [end, status] = std::from_chars(first, last, index);
  EMBER_CHECK(name.rfind("state.", 0) == 0 && dot != std::string::npos && first != last && status == std::errc() &&
                  end == last,
              what, ": '", name, "' is not a state entry of the form state.<index>.<field>");
  return index;
}

}  // namespace ember::optim
