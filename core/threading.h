#pragma once
// How many threads ember's CPU kernels (OpenMP and Eigen's GEMM) use.

namespace ember {

// Like torch.set_num_threads: applies to later kernel launches from this process.
void set_num_threads(int threads);
int get_num_threads();

}  // namespace ember
