// The op table's program: its tests (doctest, run by CTest), or with --perf its timings.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <string>

#include "op_table/op_perf.h"

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--perf") return ember::op_table::run_perf();
  }
  doctest::Context context(argc, argv);
  return context.run();
}
