// libFuzzer harness: any bytes as a checkpoint to resume from. The resume reads the weights, the
// optimizer's tensors and scalars, the scheduler, plateau and GradScaler state, the epoch and
// step counts, the random generator and an EarlyStopping callback's state (trainer/checkpoint.cpp):
// a valid checkpoint of the run resumes, anything else is an ember::Error.
#include "core/error.h"
#include "fuzz_input.h"
#include "tiny_run.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string& path = ember::fuzz::input_file(data, size, "checkpoint.safetensors");
  static const std::string root = path + ".run";
  try {
    ember::fuzz::run_tiny(path, root, 3);
  } catch (const ember::Error&) {
  }
  return 0;
}
