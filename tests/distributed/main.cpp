// The distributed suite's main: the doctest runner, or one rank of a multi-rank test when
// started as one (tests/distributed/ranks.h).
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include "ranks.h"

int main(int argc, char** argv) {
  const int rank_exit_code = ember::testing::run_scenario_if_rank();
  if (rank_exit_code >= 0) return rank_exit_code;
  doctest::Context context(argc, argv);
  return context.run();
}
