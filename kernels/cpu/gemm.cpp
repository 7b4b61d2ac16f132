// Matrix multiply on the CPU (kernels/gemm.h) through Eigen's GEMM.
#include "kernels/gemm.h"

#include <vector>

#include "kernels/cpu/parallel.h"
#include "kernels/dtype.h"

namespace ember::kernels::cpu {

namespace {

template <class T>
using RowMajor = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using ColMajor = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;
using Stride = Eigen::OuterStride<>;

// Calls use(map) with an Eigen map of `matrix` in whichever layout it has. A single row (or
// column) has no meaningful outer stride; Eigen still wants one at least the inner size.
template <class T, class Use>
void with_eigen_map(const T* data, std::int64_t rows, std::int64_t cols, const MatrixRef& matrix, Use&& use) {
  if (is_row_major(matrix, rows, cols)) {
    const std::int64_t outer = rows <= 1 ? std::max<std::int64_t>(cols, 1) : matrix.row_stride;
    use(Eigen::Map<const RowMajor<T>, 0, Stride>(data, rows, cols, Stride(outer)));
  } else {
    const std::int64_t outer = cols <= 1 ? std::max<std::int64_t>(rows, 1) : matrix.col_stride;
    use(Eigen::Map<const ColMajor<T>, 0, Stride>(data, rows, cols, Stride(outer)));
  }
}

template <class T>
void gemm_one(std::int64_t m, std::int64_t n, std::int64_t k, const T* a, const MatrixRef& a_ref, const T* b,
              const MatrixRef& b_ref, T* c, std::int64_t c_row_stride, bool accumulate) {
  Eigen::Map<RowMajor<T>, 0, Stride> result(c, m, n, Stride(c_row_stride));
  with_eigen_map(a, m, k, a_ref, [&](const auto& lhs) {
    with_eigen_map(b, k, n, b_ref, [&](const auto& rhs) {
      if (accumulate) {
        result.noalias() += lhs * rhs;
      } else {
        result.noalias() = lhs * rhs;
      }
    });
  });
}

// Half types: widen one batch's operands to f32, multiply, round the result once.
template <class T>
void gemm_half(std::int64_t m, std::int64_t n, std::int64_t k, const T* a, const MatrixRef& a_ref, const T* b,
               const MatrixRef& b_ref, T* c, std::int64_t c_row_stride, bool accumulate) {
  RowMajor<float> a32(m, k), b32(k, n), c32(m, n);
  for (std::int64_t i = 0; i < m; ++i)
    for (std::int64_t j = 0; j < k; ++j) a32(i, j) = static_cast<float>(a[i * a_ref.row_stride + j * a_ref.col_stride]);
  for (std::int64_t i = 0; i < k; ++i)
    for (std::int64_t j = 0; j < n; ++j) b32(i, j) = static_cast<float>(b[i * b_ref.row_stride + j * b_ref.col_stride]);
  c32.noalias() = a32 * b32;
  for (std::int64_t i = 0; i < m; ++i) {
    for (std::int64_t j = 0; j < n; ++j) {
      T& out = c[i * c_row_stride + j];
      out = static_cast<T>(c32(i, j) + (accumulate ? static_cast<float>(out) : 0.0f));
    }
  }
}

}  // namespace

void gemm(DType dtype, std::int64_t batch, std::int64_t m, std::int64_t n, std::int64_t k, const MatrixRef& a,
          std::int64_t a_batch_stride, const MatrixRef& b, std::int64_t b_batch_stride, void* c,
          std::int64_t c_row_stride, std::int64_t c_batch_stride, bool accumulate) {
  dispatch_floating(dtype, "matmul", [&]<class T>() {
    const T* a_data = static_cast<const T*>(a.data);
    const T* b_data = static_cast<const T*>(b.data);
    T* c_data = static_cast<T*>(c);
    auto one = [&](std::int64_t i) {
      if constexpr (std::is_same_v<compute_t<T>, T>) {
        gemm_one<T>(m, n, k, a_data + i * a_batch_stride, a, b_data + i * b_batch_stride, b,
                    c_data + i * c_batch_stride, c_row_stride, accumulate);
      } else {
        gemm_half<T>(m, n, k, a_data + i * a_batch_stride, a, b_data + i * b_batch_stride, b,
                     c_data + i * c_batch_stride, c_row_stride, accumulate);
      }
    };
    if (batch == 1) {
      one(0);  // Eigen parallelizes a single large product itself
      return;
    }
    // Several small products: one per thread (Eigen stays serial inside a parallel region).
    parallel_for(batch, m * n * k, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t i = begin; i < end; ++i) one(i);
    });
  });
}

}  // namespace ember::kernels::cpu
