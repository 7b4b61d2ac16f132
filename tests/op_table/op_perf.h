#pragma once
// The op table's --perf mode (op_perf.cpp).
namespace ember::op_table {

// Times every case that has perf inputs on each device and prints the table; returns 0.
int run_perf();

}  // namespace ember::op_table
