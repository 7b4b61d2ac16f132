#pragma once
// Command-line flags of the Fashion-MNIST example.
#include <cstdint>
#include <string>

struct Options {
  int epochs = 2;
  std::int64_t batch_size = 64;
  std::uint64_t seed = 0;
  int threads = 2;
  std::string data = "/usr/share/datasets/fashion-mnist";
  std::string model = "mlp";  // mlp or cnn
};

// Parses --epochs N --batch-size B --seed S --threads T --data DIR --model mlp|cnn; an
// ember::Error on a bad flag.
Options parse_options(int argc, char** argv);
