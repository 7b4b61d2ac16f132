#pragma once
// Generator: the state of ember's one random-number engine (Philox 4x32-10, kernels/philox.h).
//
// The state is just (seed, offset): offset counts the Philox counters already used. Saving
// and restoring those two numbers reproduces every later draw exactly, on any device.
#include <cstdint>

namespace ember {

class Generator {
 public:
  explicit Generator(std::uint64_t seed = 0) : seed_(seed) {}

  void manual_seed(std::uint64_t seed) { seed_ = seed; offset_ = 0; }
  std::uint64_t seed() const { return seed_; }
  std::uint64_t offset() const { return offset_; }
  void set_state(std::uint64_t seed, std::uint64_t offset) { seed_ = seed; offset_ = offset; }

  // One U[0, 1) number, for host-side decisions such as a data augmentation's coin flip.
  float next_uniform();

  // Reserves `counters` Philox counters for one draw and returns where the draw starts.
  std::uint64_t reserve(std::uint64_t counters) {
    const std::uint64_t start = offset_;
    offset_ += counters;
    return start;
  }

 private:
  std::uint64_t seed_;
  std::uint64_t offset_ = 0;
};

// The process-wide generator that factories and layers use unless given one.
Generator& default_generator();
// Seeds the default generator, like torch.manual_seed.
void manual_seed(std::uint64_t seed);

}  // namespace ember
