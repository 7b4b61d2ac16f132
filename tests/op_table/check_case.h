#pragma once
// Running one case of the op table and comparing it with its f64 result on the CPU.
#include <string>

#include "op_table/op_table.h"

namespace ember::op_table {

// Runs `c` on `device` in `dtype`, forward and (for differentiable cases) backward with a random
// upstream gradient, and compares the output and every input gradient with the same case run in
// f64 on the CPU from the same (rounded) inputs. Returns "" when all agree, else what differed.
std::string check_against_f64(const OpCase& c, Device device, DType dtype);

// "op (label)": how messages name a case.
inline std::string case_name(const OpCase& c) { return c.op + " (" + c.label + ")"; }

}  // namespace ember::op_table
