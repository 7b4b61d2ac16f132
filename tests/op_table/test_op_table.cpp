// The op table on every device and dtype: coverage of core/ops, f64 gradcheck on the CPU, f32,
// f16 and bf16 against f64 on the CPU, and the same on CUDA (skipped without a GPU). Outputs
// are poisoned before each run (every fresh block is 0xFF bytes, NaN), so an element a kernel
// forgets to write fails instead of passing by luck.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <regex>
#include <set>

#include "core/autograd/gradcheck.h"
#include "core/host_allocator.h"
#include "op_table/check_case.h"

using namespace ember;
using namespace ember::op_table;

namespace {

// The functions declared at namespace scope in core/ops/*.h, the op layer's public API (the
// helpers in op_utils.h and in_place.h are the op files' internals, not ops).
std::set<std::string> declared_ops() {
  const std::regex declaration(R"(^(?:inline\s+)?(?:const\s+)?(?:Tensor|void|std::pair<Tensor, Tensor>)&?\s+([a-z_0-9]+)\()");
  std::set<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(std::filesystem::path(EMBER_SOURCE_DIR) / "core/ops")) {
    const std::string file = entry.path().filename().string();
    if (entry.path().extension() != ".h" || file == "op_utils.h" || file == "in_place.h") continue;
    std::ifstream in(entry.path());
    std::smatch match;
    for (std::string line; std::getline(in, line);) {
      if (std::regex_search(line, match, declaration)) names.insert(match[1]);
    }
  }
  return names;
}

// Poisons fresh memory on both devices for the lifetime of a test.
struct Poisoned {
  Poisoned() {
    host_set_poison_allocations(true);
    if (cuda::is_available()) cuda::set_poison_allocations(true);
  }
  ~Poisoned() {
    host_set_poison_allocations(false);
    if (cuda::is_available()) cuda::set_poison_allocations(false);
  }
};

void check_every_case(Device device, std::initializer_list<DType> dtypes) {
  Poisoned poisoned;
  for (const OpCase& c : op_cases()) {
    if (c.needs_gpu && !cuda::is_available()) continue;
    for (const DType dtype : dtypes) {
      if (!c.half_precision && (dtype == DType::f16 || dtype == DType::bf16)) continue;
      std::string report;
      try {
        report = check_against_f64(c, device, dtype);
      } catch (const std::exception& error) {
        report = std::string("threw: ") + error.what();
      }
      if (!report.empty()) FAIL_CHECK(case_name(c) << " on " << device.str() << " in " << std::string(name(dtype)) << ":\n" << report);
    }
  }
}

}  // namespace

TEST_CASE("every op declared in core/ops has a case in the op table, and every case names a declared op") {
  const std::set<std::string> declared = declared_ops();
  REQUIRE(declared.size() > 60);  // the parser found the op layer
  std::set<std::string> covered;
  for (const OpCase& c : op_cases()) covered.insert(c.op);
  for (const std::string& op : declared) {
    if (!covered.count(op)) FAIL_CHECK("core/ops declares '" << op << "' but the op table has no case for it");
  }
  for (const std::string& op : covered) {
    if (!declared.count(op)) FAIL_CHECK("the op table has a case for '" << op << "', which core/ops does not declare");
  }
}

TEST_CASE("every differentiable op passes gradcheck in f64 on the CPU") {
  Poisoned poisoned;
  for (const OpCase& c : op_cases()) {
    if (!c.differentiable || c.in_place || c.needs_gpu) continue;
    const std::vector<Tensor> inputs = make_inputs(c.inputs, DType::f64, Device::cpu(), 99);
    try {
      CHECK_MESSAGE(gradcheck(c.run, inputs), case_name(c));
    } catch (const std::exception& error) {
      FAIL_CHECK(case_name(c) << ": " << error.what());
    }
  }
}

TEST_CASE("every op agrees with its f64 result in f32, f16 and bf16 on the CPU, forward and backward") {
  check_every_case(Device::cpu(), {DType::f32, DType::f16, DType::bf16});
}

TEST_CASE("every op agrees with its f64 CPU result in f32, f16 and bf16 on CUDA, forward and backward") {
  if (!cuda::is_available()) {
    std::cout << "SKIPPED: no CUDA device" << std::endl;
    return;
  }
  check_every_case(Device::cuda(), {DType::f32, DType::f16, DType::bf16});
}
