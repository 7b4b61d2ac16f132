#include "core/generator.h"

#include "kernels/philox.h"

namespace ember {

float Generator::next_uniform() { return kernels::philox_uniform(seed_, reserve(1), 0); }

Generator& default_generator() {
  static Generator generator(0);
  return generator;
}

void manual_seed(std::uint64_t seed) { default_generator().manual_seed(seed); }

}  // namespace ember
