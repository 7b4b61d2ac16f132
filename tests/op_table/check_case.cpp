#include "op_table/check_case.h"

#include <sstream>

#include "helpers.h"

namespace ember::op_table {

namespace {

constexpr std::uint64_t kSeed = 1234;

// Appends a line to `report` when `got` and `want` differ by more than `tolerance`.
void compare(const std::string& what, const Tensor& got, const Tensor& want, double tolerance, std::string& report) {
  std::ostringstream line;
  if (!got.defined() || got.sizes() != want.sizes()) {
    line << what << ": shape " << (got.defined() ? to_string(got.sizes()) : "(undefined)") << ", expected "
         << to_string(want.sizes()) << "\n";
  } else {
    const double error = testing::max_relative_error(got, want);
    if (!(error <= tolerance)) line << what << ": error " << error << " > " << tolerance << "\n";
  }
  report += line.str();
}

// The f64 copies of `inputs` (the values already rounded to the case's dtype), on the CPU.
std::vector<Tensor> as_f64_on_cpu(const std::vector<Tensor>& inputs) {
  std::vector<Tensor> copies;
  for (const Tensor& input : inputs) {
    Tensor copy = input.detach().to(Device::cpu());
    if (is_floating(copy.dtype())) copy = copy.to(DType::f64);
    if (input.requires_grad()) copy.set_requires_grad(true);
    copies.push_back(copy);
  }
  return copies;
}

}  // namespace

std::string check_against_f64(const OpCase& c, Device device, DType dtype) {
  const std::vector<Tensor> inputs = make_inputs(c.inputs, dtype, device, kSeed);
  const std::vector<Tensor> references = as_f64_on_cpu(inputs);
  const Tensor output = c.run(inputs);
  const Tensor expected = c.run(references);
  const bool floating_output = is_floating(expected.dtype());
  const double tolerance = floating_output ? tolerance_for(dtype) : 0.0;
  std::string report;
  compare("output", output, expected, tolerance, report);
  if (c.differentiable && !c.in_place) {
    Generator generator(kSeed + 1);
    const Tensor upstream = randn(expected.sizes(), {.dtype = DType::f64}, generator);
    output.backward(upstream.to(output.dtype()).to(device));
    expected.backward(upstream.to(output.dtype()).to(DType::f64));  // the same rounded values
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      if (!references[i].requires_grad()) continue;
      compare("gradient of input " + std::to_string(i), inputs[i].grad(), references[i].grad(), tolerance, report);
    }
  }
  return report;
}

}  // namespace ember::op_table
