// libFuzzer harness: any bytes as an IDX file (raw or gzip-compressed, as Fashion-MNIST ships).
#include "core/error.h"
#include "data/idx.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string& path = ember::fuzz::input_file(data, size, "idx");
  try {
    const ember::data::IdxArray array = ember::data::read_idx(path);
    std::int64_t count = 1;
    for (const std::int64_t dim : array.sizes) count *= dim;
    if (count != static_cast<std::int64_t>(array.values.size())) __builtin_trap();  // sizes must describe the values
  } catch (const ember::Error&) {
  }
  return 0;
}
