#include "core/threading.h"

#include <omp.h>

#include "core/error.h"

namespace ember {

void set_num_threads(int threads) {
  EMBER_CHECK(threads >= 1, "set_num_threads: expected at least 1 thread, got ", threads);
  omp_set_num_threads(threads);  // Eigen's GEMM follows OpenMP's setting
}

int get_num_threads() { return omp_get_max_threads(); }

}  // namespace ember
