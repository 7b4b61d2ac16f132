// GPU kernels against the hardware limit, in one run: bandwidth-bound kernels in GB/s beside
// the device's own copy bandwidth (cudaMemcpy device to device), and GEMM TFLOP/s through
// cuBLASLt for f16, bf16, f32 and TF32 beside the hand-written tiled tensor-core GEMM
// (kernels/cuda/tiled_gemm.h) for f16 and bf16. tools/gpu_check.sh puts PyTorch's figures from
// the same machine beside these (bench/peers/torch_cuda_peer.py).
//
// usage: cuda_bench [--elements N] [--gemm N] [--gemm-kernel cublaslt|tiled|both]
#include <cuda_runtime_api.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <tuple>

#include "core/cuda.h"
#include "core/ember.h"
#include "kernels/gemm.h"
#include "kernels/cuda/tf32.h"
#include "kernels/cuda/tiled_gemm.h"
#include "optim/adam.h"

using namespace ember;

namespace {

// Median-free and simple: a warm-up call, then the mean of `repeats` calls between two syncs.
double seconds_per_call(const std::function<void()>& call, int repeats) {
  call();
  cuda::synchronize();
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < repeats; ++i) call();
  cuda::synchronize();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / repeats;
}

void bandwidth_row(const char* name, double bytes, double seconds, double copy_gbs) {
  const double gbs = bytes / seconds / 1e9;
  std::printf("| %-28s | %10.1f | %10.1f | %5.1f%% |\n", name, gbs, copy_gbs, 100.0 * gbs / copy_gbs);
}

}  // namespace

int main(int argc, char** argv) {
  std::int64_t n = std::int64_t{1} << 26;  // 64M floats, 256 MiB per tensor: far beyond L2
  std::int64_t g = 8192;
  std::string gemm_kernel = "both";
  CLI::App app{"Bandwidth kernels and GEMMs on the GPU beside the device's copy bandwidth", "cuda_bench"};
  app.add_option("--elements", n, "elements of the bandwidth kernels' tensors")->check(CLI::Range(1LL, 1LL << 34))
      ->capture_default_str();
  app.add_option("--gemm", g, "size of the square GEMMs")->check(CLI::Range(1LL, 1LL << 16))->capture_default_str();
  app.add_option("--gemm-kernel", gemm_kernel, "which GEMM to time")->check(CLI::IsMember({"cublaslt", "tiled", "both"}))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (!cuda::is_available()) {
    std::printf("cuda_bench: no CUDA device on this machine; nothing measured\n");
    return 0;
  }
  const Device gpu = Device::cuda(0);
  const int repeats = 20;
  const double bytes = static_cast<double>(n) * 4;

  const Tensor a = randn({n}, {.device = gpu}), b = randn({n}, {.device = gpu});
  Tensor out = empty({n}, {.device = gpu});
  const double copy_seconds = seconds_per_call(
      [&] { cudaMemcpyAsync(out.data_ptr(), a.data_ptr(), static_cast<std::size_t>(bytes), cudaMemcpyDeviceToDevice); },
      repeats);
  const double copy_gbs = 2 * bytes / copy_seconds / 1e9;  // read + write

  std::printf("\nBandwidth-bound kernels, f32, %lld elements (GB/s of memory traffic)\n\n", static_cast<long long>(n));
  std::printf("| %-28s | %10s | %10s | %6s |\n", "kernel", "ember GB/s", "copy GB/s", "share");
  std::printf("|------------------------------|------------|------------|--------|\n");
  bandwidth_row("cudaMemcpy D2D (the limit)", 2 * bytes, copy_seconds, copy_gbs);
  bandwidth_row("add (a + b)", 3 * bytes, seconds_per_call([&] { out = add(a, b); }, repeats), copy_gbs);
  bandwidth_row("relu", 2 * bytes, seconds_per_call([&] { out = relu(a); }, repeats), copy_gbs);
  bandwidth_row("copy_ (ember's copy kernel)", 2 * bytes, seconds_per_call([&] { out.copy_(a); }, repeats), copy_gbs);
  bandwidth_row("cast f32 -> bf16", 1.5 * bytes, seconds_per_call([&] { to(a, DType::bf16); }, repeats), copy_gbs);
  const Tensor rows = a.reshape({n / 4096, 4096});
  bandwidth_row("softmax rows of 4096", 2 * bytes, seconds_per_call([&] { out = softmax(rows, 1); }, repeats),
                copy_gbs);
  {
    const Tensor weight = ones({4096}, {.device = gpu}), bias = zeros({4096}, {.device = gpu});
    bandwidth_row("layer_norm rows of 4096", 2 * bytes,
                  seconds_per_call([&] { out = layer_norm(rows, {4096}, weight, bias); }, repeats), copy_gbs);
  }
  {
    // Reads every logit once; the per-row losses are negligible traffic.
    const Tensor labels = zeros({n / 4096}, {.dtype = DType::i64, .device = gpu});
    bandwidth_row("cross-entropy rows of 4096", bytes,
                  seconds_per_call([&] { softmax_cross_entropy(rows, labels); }, repeats), copy_gbs);
  }
  bandwidth_row("sum (to one value)", bytes, seconds_per_call([&] { sum(a); }, repeats), copy_gbs);
  {
    // Adam reads param, grad, both moments and writes param and both moments: 7 passes.
    const Tensor param = randn({n}, {.device = gpu}).set_requires_grad(true);
    param.set_grad(b);
    optim::Adam adam({param});
    bandwidth_row("Adam step (fused)", 7 * bytes, seconds_per_call([&] { adam.step(); }, repeats), copy_gbs);
  }

  std::printf("\nGEMM %lld^3 (TFLOP/s): cuBLASLt, and the hand-written tiled kernel with its share of cuBLASLt\n\n",
              static_cast<long long>(g));
  std::printf("| %-6s | %14s | %14s | %6s |\n", "dtype", "cuBLASLt", "tiled (ours)", "share");
  std::printf("|--------|----------------|----------------|--------|\n");
  const double flops = 2.0 * static_cast<double>(g) * static_cast<double>(g) * static_cast<double>(g);
  const bool run_cublaslt = gemm_kernel != "tiled", run_tiled = gemm_kernel != "cublaslt";
  for (const auto& [label, dtype, tf32] : {std::tuple{"f16", DType::f16, false}, std::tuple{"bf16", DType::bf16, false},
                                           std::tuple{"f32", DType::f32, false}, std::tuple{"tf32", DType::f32, true}}) {
    kernels::cuda::set_allow_tf32(tf32);
    const Tensor x = randn({g, g}, {.device = gpu}).to(dtype), y = randn({g, g}, {.device = gpu}).to(dtype);
    const double library = run_cublaslt ? flops / seconds_per_call([&] { matmul(x, y); }, 10) / 1e12 : 0.0;
    double tiled = 0.0;
    if (run_tiled && dtype != DType::f32) {
      Tensor z = empty({g, g}, {.dtype = dtype, .device = gpu});
      tiled = flops /
              seconds_per_call([&] { kernels::cuda::tiled_gemm(dtype, g, g, g, x.data_ptr(), y.data_ptr(), z.data_ptr()); },
                               10) /
              1e12;
    }
    const std::string share = library > 0 && tiled > 0 ? std::to_string(static_cast<int>(100 * tiled / library)) + "%" : "-";
    std::printf("| %-6s | %14.1f | %14.1f | %6s |\n", label, library, tiled, share.c_str());
  }
  kernels::cuda::set_allow_tf32(false);
  const cuda::MemoryStats stats = cuda::memory_stats(0);
  std::printf("\ncaching allocator: peak allocated %.1f MiB, reserved %.1f MiB\n",
              static_cast<double>(stats.peak_allocated) / (1 << 20), static_cast<double>(stats.reserved) / (1 << 20));
  return 0;
}
