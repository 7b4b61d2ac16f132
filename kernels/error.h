#pragma once
// ember::Error and the helpers that build its messages.
//
// The bottom of ember: it depends on nothing else in ember, so every layer may use it (core
// re-exports it as core/error.h).
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace ember {

// The one exception type ember throws for bad input. Its message names the op and the shapes,
// dtypes and devices involved, e.g. "matmul: shapes [64, 784] and [256, 128] cannot be multiplied".
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Concatenates its arguments with operator<< and throws an Error carrying the text.
template <class... Parts>
[[noreturn]] void fail(Parts&&... parts) {
  std::ostringstream message;
  (message << ... << std::forward<Parts>(parts));
  throw Error(message.str());
}

}  // namespace ember

// Throws an ember::Error built from the remaining arguments when `condition` is false.
#define EMBER_CHECK(condition, ...)     \
  do {                                  \
    if (!(condition)) {                 \
      ::ember::fail(__VA_ARGS__);       \
    }                                   \
  } while (false)
