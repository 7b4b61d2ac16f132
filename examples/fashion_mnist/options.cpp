#include "options.h"

#include <charconv>

#include "core/error.h"

namespace {

template <class T>
T parse_number(const std::string& flag, const std::string& text, T minimum) {
  T value{};
  const auto [end, status] = std::from_chars(text.data(), text.data() + text.size(), value);
  EMBER_CHECK(status == std::errc() && end == text.data() + text.size() && value >= minimum, flag,
              ": expected a whole number >= ", minimum, ", got '", text, "'");
  return value;
}

}  // namespace

Options parse_options(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      ember::fail("usage: fashion_mnist [--max-epochs N] [--batch-size B] [--seed S] [--threads T] [--workers W] "
                  "[--data DIR] [--model mlp|cnn] [--out DIR] [--resume CKPT] [--augment 0|1] [--device cpu|cuda] "
                  "[--precision 32|16-mixed|bf16-mixed] [--strategy single|ddp|zero1|zero2]");
    }
    EMBER_CHECK(i + 1 < argc, flag, ": missing value");
    const std::string value = argv[++i];
    if (flag == "--epochs" || flag == "--max-epochs") {
      options.max_epochs = parse_number<int>(flag, value, 1);
    } else if (flag == "--workers") {
      options.workers = parse_number<int>(flag, value, 0);
    } else if (flag == "--out") {
      options.out = value;
    } else if (flag == "--resume") {
      options.resume = value;
    } else if (flag == "--batch-size") {
      options.batch_size = parse_number<std::int64_t>(flag, value, 1);
    } else if (flag == "--seed") {
      options.seed = parse_number<std::uint64_t>(flag, value, 0);
    } else if (flag == "--threads") {
      options.threads = parse_number<int>(flag, value, 1);
    } else if (flag == "--data") {
      options.data = value;
    } else if (flag == "--augment") {
      options.augment = parse_number<int>(flag, value, 0) != 0;
    } else if (flag == "--device") {
      EMBER_CHECK(value == "cpu" || value == "cuda", "--device: expected cpu or cuda, got '", value, "'");
      options.device = value;
    } else if (flag == "--precision") {
      options.precision = value;  // the Trainer checks it
    } else if (flag == "--strategy") {
      options.strategy = value;  // the Trainer checks it
    } else if (flag == "--model") {
      EMBER_CHECK(value == "mlp" || value == "cnn", "--model: expected mlp or cnn, got '", value, "'");
      options.model = value;
    } else {
      ember::fail("unknown flag '", flag, "' (try --help)");
    }
  }
  return options;
}
