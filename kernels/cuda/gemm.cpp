// Matrix multiply on the GPU (kernels/gemm.h) through cuBLASLt. f16/bf16 run on the tensor
// cores with f32 accumulation; f32 runs in full f32 unless TF32 is allowed (kernels/cuda/tf32.h).
// The algorithm is chosen once per (dtype, shape, layout) by cuBLASLt's heuristic and cached.
//
// Written for row-major ember matrices: cuBLASLt is column-major, so C = A B is computed as
// C^T = B^T A^T, where a row-major matrix read as column-major is exactly its transpose, so no
// data moves.
#include "kernels/gemm.h"
#include "kernels/cuda/tf32.h"

#include <cublasLt.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <tuple>

#include "kernels/cuda/check.h"
#include "kernels/elementwise.h"
#include "kernels/cuda/stream.h"

namespace ember::kernels::cuda {

namespace {

// As EMBER_CUDA_CHECK, for cuBLASLt's status codes.
#define EMBER_CUBLAS_CHECK(call)                                                                  \
  do {                                                                                            \
    const cublasStatus_t ember_cublas_status = (call);                                            \
    if (ember_cublas_status != CUBLAS_STATUS_SUCCESS) {                                           \
      fail("cuBLASLt error: ", cublasLtGetStatusString(ember_cublas_status), " in ", #call, " at ", \
           __FILE__, ":", __LINE__);                                                              \
    }                                                                                             \
  } while (false)

constexpr std::size_t kWorkspaceBytes = std::size_t{32} << 20;

std::atomic<bool> tf32_allowed{false};

// One handle and one workspace per device, made on first use and kept for the process.
struct DeviceContext {
  cublasLtHandle_t handle = nullptr;
  void* workspace = nullptr;
};

// What the heuristic's answer depends on.
using ShapeKey = std::tuple<int, int, bool, std::int64_t, std::int64_t, std::int64_t, std::int64_t, bool, bool,
                            std::int64_t, std::int64_t, std::int64_t, std::int64_t, std::int64_t, std::int64_t, bool>;

struct Cache {
  std::mutex mutex;
  std::map<int, DeviceContext> contexts;
  std::map<ShapeKey, cublasLtMatmulAlgo_t> algorithms;
};

Cache& cache() {
  static Cache* instance = new Cache;  // never destroyed: CUDA may be torn down before statics
  return *instance;
}

cudaDataType_t cuda_type(DType dtype) {
  switch (dtype) {
    case DType::f32: return CUDA_R_32F;
    case DType::f64: return CUDA_R_64F;
    case DType::f16: return CUDA_R_16F;
    case DType::bf16: return CUDA_R_16BF;
    default: fail("matmul (CUDA): expected a floating dtype, got ", dtype);
  }
}

// An operand as cuBLASLt sees it: a column-major layout plus whether to transpose it.
struct LtOperand {
  bool transpose;
  std::uint64_t rows, cols;
  std::int64_t ld;
};

// The column-major view of the transpose of a row-major-indexed rows x cols matrix `x`. A
// single row or column never steps by its outer stride, which may then be anything; cuBLASLt
// still wants ld >= the layout's rows, so it is raised to that.
LtOperand transposed_view(const MatrixRef& x, std::int64_t rows, std::int64_t cols) {
  if (x.col_stride == 1) {  // row-major x: x^T is column-major [cols x rows], ld = row stride
    return {false, static_cast<std::uint64_t>(cols), static_cast<std::uint64_t>(rows),
            std::max({x.row_stride, cols, std::int64_t{1}})};
  }
  // column-major x: x^T is the transpose of a column-major [rows x cols], ld = col stride
  return {true, static_cast<std::uint64_t>(rows), static_cast<std::uint64_t>(cols),
          std::max({x.col_stride, rows, std::int64_t{1}})};
}

// RAII holders for the descriptors of one call.
struct Descriptors {
  cublasLtMatmulDesc_t matmul = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
  cublasLtMatmulPreference_t preference = nullptr;
  ~Descriptors() {
    if (preference) cublasLtMatmulPreferenceDestroy(preference);
    if (c) cublasLtMatrixLayoutDestroy(c);
    if (b) cublasLtMatrixLayoutDestroy(b);
    if (a) cublasLtMatrixLayoutDestroy(a);
    if (matmul) cublasLtMatmulDescDestroy(matmul);
  }
};

void set_batch(cublasLtMatrixLayout_t layout, std::int64_t batch, std::int64_t stride) {
  const auto count = static_cast<std::int32_t>(batch);
  EMBER_CUBLAS_CHECK(cublasLtMatrixLayoutSetAttribute(layout, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count, sizeof(count)));
  EMBER_CUBLAS_CHECK(
      cublasLtMatrixLayoutSetAttribute(layout, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride, sizeof(stride)));
}

DeviceContext& context_for(Cache& c, int device) {
  DeviceContext& context = c.contexts[device];
  if (context.handle == nullptr) {
    EMBER_CUBLAS_CHECK(cublasLtCreate(&context.handle));
    EMBER_CUDA_CHECK(cudaMalloc(&context.workspace, kWorkspaceBytes));
  }
  return context;
}

}  // namespace

void set_allow_tf32(bool allow) { tf32_allowed = allow; }
bool allow_tf32() { return tf32_allowed; }

void gemm(DType dtype, std::int64_t batch, std::int64_t m, std::int64_t n, std::int64_t k, const MatrixRef& a,
          std::int64_t a_batch_stride, const MatrixRef& b, std::int64_t b_batch_stride, void* c,
          std::int64_t c_row_stride, std::int64_t c_batch_stride, bool accumulate) {
  if (batch == 0 || m == 0 || n == 0) return;
  if (k == 0) {  // an empty sum: C stays as it is, or becomes zero
    if (!accumulate) fill(dtype, {batch, m, n}, {c, {c_batch_stride, c_row_stride, 1}}, 0.0);
    return;
  }
  const cudaDataType_t type = cuda_type(dtype);
  const bool f64 = dtype == DType::f64;
  const bool tf32 = dtype == DType::f32 && tf32_allowed;
  const cublasComputeType_t compute =
      f64 ? CUBLAS_COMPUTE_64F : (tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F);
  const cudaDataType_t scale_type = f64 ? CUDA_R_64F : CUDA_R_32F;

  // C^T [n x m] = B^T [n x k] @ A^T [k x m]: cuBLASLt's "A" is our B, its "B" is our A.
  const LtOperand lt_a = transposed_view(b, k, n), lt_b = transposed_view(a, m, k);
  Descriptors d;
  EMBER_CUBLAS_CHECK(cublasLtMatmulDescCreate(&d.matmul, compute, scale_type));
  const cublasOperation_t op_a = lt_a.transpose ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t op_b = lt_b.transpose ? CUBLAS_OP_T : CUBLAS_OP_N;
  EMBER_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(d.matmul, CUBLASLT_MATMUL_DESC_TRANSA, &op_a, sizeof(op_a)));
  EMBER_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(d.matmul, CUBLASLT_MATMUL_DESC_TRANSB, &op_b, sizeof(op_b)));
  EMBER_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&d.a, type, lt_a.rows, lt_a.cols, lt_a.ld));
  EMBER_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&d.b, type, lt_b.rows, lt_b.cols, lt_b.ld));
  const std::int64_t ldc = std::max({c_row_stride, n, std::int64_t{1}});  // as in transposed_view
  EMBER_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&d.c, type, static_cast<std::uint64_t>(n),
                                                static_cast<std::uint64_t>(m), ldc));
  if (batch > 1) {
    set_batch(d.a, batch, b_batch_stride);
    set_batch(d.b, batch, a_batch_stride);
    set_batch(d.c, batch, c_batch_stride);
  }

  int device = 0;
  EMBER_CUDA_CHECK(cudaGetDevice(&device));
  const ShapeKey key{device,         static_cast<int>(dtype), tf32,           batch,         m,
                     n,              k,                       lt_a.transpose, lt_b.transpose, lt_a.ld,
                     lt_b.ld,        ldc,                     a_batch_stride, b_batch_stride, c_batch_stride,
                     accumulate};
  Cache& shared = cache();
  cublasLtMatmulAlgo_t algorithm;
  DeviceContext context;
  {
    std::lock_guard lock(shared.mutex);
    context = context_for(shared, device);
    const auto found = shared.algorithms.find(key);
    if (found != shared.algorithms.end()) {
      algorithm = found->second;
    } else {
      EMBER_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&d.preference));
      EMBER_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(d.preference, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                                              &kWorkspaceBytes, sizeof(kWorkspaceBytes)));
      cublasLtMatmulHeuristicResult_t result{};
      int found_count = 0;
      EMBER_CUBLAS_CHECK(cublasLtMatmulAlgoGetHeuristic(context.handle, d.matmul, d.a, d.b, d.c, d.c, d.preference, 1,
                                                        &result, &found_count));
      EMBER_CHECK(found_count > 0, "matmul (CUDA): cuBLASLt has no algorithm for ", dtype, " [", m, " x ", k,
                  "] @ [", k, " x ", n, "] (batch ", batch, ")");
      algorithm = result.algo;
      shared.algorithms.emplace(key, algorithm);
    }
  }
  const float one_f = 1.0f, beta_f = accumulate ? 1.0f : 0.0f;
  const double one_d = 1.0, beta_d = accumulate ? 1.0 : 0.0;
  const void* alpha = f64 ? static_cast<const void*>(&one_d) : static_cast<const void*>(&one_f);
  const void* beta = f64 ? static_cast<const void*>(&beta_d) : static_cast<const void*>(&beta_f);
  EMBER_CUBLAS_CHECK(cublasLtMatmul(context.handle, d.matmul, alpha, b.data, d.a, a.data, d.b, beta, c, d.c, c, d.c,
                                    &algorithm, context.workspace, kWorkspaceBytes, current_stream()));
}

}  // namespace ember::kernels::cuda
