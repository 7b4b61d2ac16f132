// Training-step time of the Fashion-MNIST MLP and CNN on the GPU, in f32 and in 16-mixed
// (autocast f16 + GradScaler): forward, cross-entropy, backward and an Adam step on a fixed
// batch already on the device, the same work as bench/peers/torch_cuda_train_step.py does with
// PyTorch eager. tools/gpu_check.sh runs both and puts the tables side by side.
//
// usage: cuda_train_step [--batch N] [--steps N]
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <string>

#include "core/cuda.h"
#include "core/ember.h"
#include "nn/models.h"
#include "nn/nn.h"
#include "optim/optim.h"

using namespace ember;

namespace {

// Milliseconds per step after a warm-up (cuDNN and cuBLASLt choose their algorithms there).
double milliseconds_per_step(const std::string& model_name, bool mixed, std::int64_t batch, int steps) {
  const Device gpu = Device::cuda(0);
  const auto model = model_name == "mlp" ? nn::models::fashion_mnist_mlp() : nn::models::fashion_mnist_cnn();
  model->to(gpu);
  optim::Adam adam(model->parameters(), {.lr = 1e-3});
  optim::GradScaler scaler({.enabled = mixed});
  const Tensor images = randn({batch, 1, 28, 28}, {.device = gpu});
  const Tensor labels = to(mul(rand({batch}, {.device = gpu}), 10.0), DType::i64);
  auto step = [&] {
    adam.zero_grad();
    Tensor loss;
    {
      AutocastGuard autocast(DType::f16, mixed);
      loss = nn::functional::cross_entropy((*model)(images), labels);
    }
    scaler.scale(loss).backward();
    scaler.step(adam);
    scaler.update();
  };
  for (int i = 0; i < 5; ++i) step();
  cuda::synchronize();
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < steps; ++i) step();
  cuda::synchronize();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count() / steps;
}

}  // namespace

int main(int argc, char** argv) {
  std::int64_t batch = 256;
  int steps = 100;
  CLI::App app{"The Fashion-MNIST CNN's training step on the GPU in each precision", "cuda_train_step"};
  app.add_option("--batch", batch, "examples per step")->check(CLI::Range(1LL, 1LL << 20))->capture_default_str();
  app.add_option("--steps", steps, "timed steps")->check(CLI::Range(1, 1 << 20))->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (!cuda::is_available()) {
    std::printf("cuda_train_step: no CUDA device on this machine; nothing measured\n");
    return 0;
  }
  std::printf("\nember training step on the GPU, batch %lld, Adam (ms per step)\n\n", static_cast<long long>(batch));
  std::printf("| model | f32 ms | 16-mixed ms | mixed speed-up |\n");
  std::printf("|-------|--------|-------------|----------------|\n");
  for (const char* model : {"mlp", "cnn"}) {
    const double f32 = milliseconds_per_step(model, false, batch, steps);
    const double mixed = milliseconds_per_step(model, true, batch, steps);
    std::printf("| %-5s | %6.3f | %11.3f | %13.2fx |\n", model, f32, mixed, f32 / mixed);
  }
  return 0;
}
