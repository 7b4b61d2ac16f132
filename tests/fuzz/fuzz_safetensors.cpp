// libFuzzer harness: any bytes as a safetensors file. A valid file loads and every element of
// every tensor can be read; anything else is an ember::Error. Any other exception escapes and
// aborts, and the sanitizers catch every read past a buffer: both are findings.
#include "core/ops.h"
#include "fuzz_input.h"
#include "io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string& path = ember::fuzz::input_file(data, size, "safetensors");
  try {
    for (const auto& [name, tensor] : ember::io::load_safetensors(path).tensors) {
      if (ember::is_floating(tensor.dtype())) (void)ember::sum(tensor.to(ember::DType::f64)).item<double>();
      else (void)tensor.to_vector<double>();
    }
  } catch (const ember::Error&) {
  }
  return 0;
}
