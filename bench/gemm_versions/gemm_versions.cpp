// gemm_versions: every version of the CPU and CUDA GEMM (README.md in this folder) checked
// against ember's library GEMM and timed, beside the measured arithmetic limit of the device.
//
//   build/bench/gemm_versions [--sizes 256,512,1024,2048]
#include <CLI/CLI.hpp>
#include <Eigen/Core>

#include <cmath>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "bench/hardware_limits.h"
#include "core/ember.h"
#include "gemm_versions/cpu_gemm_versions.h"
#include "kernels/cpu/packed_gemm.h"
#if EMBER_CUDA
#include "gemm_versions/cuda_gemm_versions.h"
#include "kernels/cuda/tiled_gemm.h"
#endif

using namespace ember;

namespace {

using Gemm = std::function<void(std::int64_t, std::int64_t, std::int64_t, const void*, const void*, void*)>;

struct Version {
  const char* name;
  Gemm run;
  std::int64_t largest;  // sizes above this are skipped (the naive loops would take minutes)
};

// The library a version is checked against: Eigen's GEMM called directly on the CPU, ember's
// matmul (cuBLASLt) on a GPU.
Tensor reference_product(const Tensor& a, const Tensor& b) {
  if (a.device().is_cuda()) return matmul(a, b);
  using Matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  Tensor c = empty({a.size(0), b.size(1)});
  Eigen::Map<Matrix>(c.data<float>(), a.size(0), b.size(1)).noalias() =
      Eigen::Map<const Matrix>(a.data<float>(), a.size(0), a.size(1)) *
      Eigen::Map<const Matrix>(b.data<float>(), b.size(0), b.size(1));
  return c;
}

// max |got - want| / max(1, |want|): the versions sum in other orders than the library.
double worst_error(const Tensor& got, const Tensor& want) {
  const std::vector<double> g = got.to_vector<double>(), w = want.to_vector<double>();
  double worst = 0;
  for (std::size_t i = 0; i < g.size(); ++i) worst = std::max(worst, std::abs(g[i] - w[i]) / std::max(1.0, std::abs(w[i])));
  return worst;
}

// The error a correct version may have: f32 sums of n products in another order differ by about
// eps * sqrt(n) relative to the result (random-sign terms); f16/bf16 round the output too.
double tolerance_for(DType dtype, std::int64_t n) {
  return (dtype == DType::f32 ? 1e-5 : 1e-3) * std::sqrt(static_cast<double>(n));
}

void run_table(Device device, DType dtype, const std::vector<Version>& versions, const std::vector<std::int64_t>& sizes,
               double peak) {
  std::printf("\n%s, %s, C = A B with square n x n matrices; arithmetic limit %.0f GFLOP/s\n", device.str().c_str(),
              name(dtype), peak);
  std::printf("%-22s %6s %10s %10s %8s %10s\n", "version", "n", "ms", "GFLOP/s", "% limit", "max error");
  for (const std::int64_t n : sizes) {
    Generator generator(11);
    const Tensor a = randn({n, n}, {.dtype = dtype, .device = device}, generator);
    const Tensor b = randn({n, n}, {.dtype = dtype, .device = device}, generator);
    Tensor reference;
    const double reference_seconds = bench::median_seconds(device, [&] { reference = reference_product(a, b); }, 3);
    auto row = [&](const char* version, double seconds, const std::string& error) {
      const double gflops = 2.0 * static_cast<double>(n) * n * n / seconds / 1e9;
      std::printf("%-22s %6lld %10.3f %10.1f %7.0f%% %10s\n", version, static_cast<long long>(n), seconds * 1e3, gflops,
                  100.0 * gflops / peak, error.c_str());
    };
    for (const Version& version : versions) {
      if (n > version.largest) continue;
      const Tensor c = empty({n, n}, {.dtype = dtype, .device = device});
      const double seconds = bench::median_seconds(
          device, [&] { version.run(n, n, n, a.data_ptr(), b.data_ptr(), c.data_ptr()); }, 3);
      const double error = worst_error(c, reference);
      char text[32];
      std::snprintf(text, sizeof text, "%.1e%s", error, error <= tolerance_for(dtype, n) ? "" : " WRONG");
      row(version.name, seconds, text);
    }
    row(device.is_cuda() ? "cuBLASLt" : "Eigen", reference_seconds, "-");
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"The GEMM versions for learners, checked against the library GEMM and timed"};
  std::vector<std::int64_t> sizes = {256, 512, 1024, 2048};
  app.add_option("--sizes", sizes, "matrix sizes n (n x n times n x n)")->delimiter(',');
  CLI11_PARSE(app, argc, argv);
  try {
    auto cpu = [](auto f) {
      return [f](std::int64_t m, std::int64_t n, std::int64_t k, const void* a, const void* b, void* c) {
        f(m, n, k, static_cast<const float*>(a), static_cast<const float*>(b), static_cast<float*>(c));
      };
    };
    const std::vector<Version> cpu_versions = {
        {"1 naive", cpu(gemm_versions::cpu_naive), 1024},
        {"2 blocked", cpu(gemm_versions::cpu_blocked), 1 << 30},
        {"3 packed (ember's)", [](std::int64_t m, std::int64_t n, std::int64_t k, const void* a, const void* b,
                                 void* c) {
           kernels::cpu::packed_gemm_f32(m, n, k, static_cast<const float*>(a), {a, k, 1}, static_cast<const float*>(b),
                                         {b, n, 1}, static_cast<float*>(c), n, false);
         }, 1 << 30},
    };
    run_table(Device::cpu(), DType::f32, cpu_versions, sizes, bench::cpu_fma_gflops());
#if EMBER_CUDA
    if (cuda::is_available()) {
      const std::vector<std::int64_t> gpu_sizes = {1024, 4096, 8192};
      const std::vector<Version> cuda_versions = {
          {"1 naive", cpu(gemm_versions::cuda_naive), 4096},
          {"2 coalesced", cpu(gemm_versions::cuda_coalesced), 1 << 30},
          {"3 shared tiles", cpu(gemm_versions::cuda_shared_tiles), 1 << 30},
      };
      run_table(Device::cuda(), DType::f32, cuda_versions, gpu_sizes, bench::cuda_gemm_gflops(DType::f32));
      for (const DType dtype : {DType::f16, DType::bf16}) {
        const std::vector<Version> tensor_cores = {
            {"4 tensor cores (WMMA)",
             [dtype](std::int64_t m, std::int64_t n, std::int64_t k, const void* a, const void* b, void* c) {
               kernels::cuda::tiled_gemm(dtype, m, n, k, a, b, c);
             },
             1 << 30}};
        run_table(Device::cuda(), dtype, tensor_cores, gpu_sizes, bench::cuda_gemm_gflops(dtype));
      }
    } else {
      std::printf("\ncuda: no CUDA device; the CUDA versions are built but not run\n");
    }
#else
    std::printf("\ncuda: this build has no CUDA\n");
#endif
  } catch (const std::exception& error) {
    std::fprintf(stderr, "gemm_versions: %s\n", error.what());
    return 1;
  }
  return 0;
}
