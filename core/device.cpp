#include "core/device.h"

#include "core/error.h"

namespace ember {

Device Device::parse(const std::string& text) {
  if (text == "cpu") return cpu();
  if (text == "cuda") return cuda(0);
  if (text.rfind("cuda:", 0) == 0) {
    const std::string digits = text.substr(5);
    EMBER_CHECK(!digits.empty() && digits.find_first_not_of("0123456789") == std::string::npos,
                "Device: cannot parse '", text, "' (expected cpu, cuda or cuda:N)");
    return cuda(std::stoi(digits));
  }
  fail("Device: cannot parse '", text, "' (expected cpu, cuda or cuda:N)");
}

std::string Device::str() const { return is_cpu() ? "cpu" : "cuda:" + std::to_string(index); }

void cuda_unavailable(const char* op) {
  fail(op, ": tensor is on a CUDA device, but this build of ember has no CUDA kernels "
           "(rebuild with EMBER_CUDA=ON on a machine with nvcc)");
}

}  // namespace ember
