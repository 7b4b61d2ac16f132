// The GPU beyond single small ops: every op of core/ops against its f64 CPU result is the op
// table's (tests/op_table); here are dtype conversions between every pair, large index and
// multi-tensor launches, the hand-written tiled GEMM, the Philox stream across devices, the
// GradScaler, the caching allocator, pinned memory and whole training runs. Run by
// tools/gpu_check.sh on a machine with a GPU; elsewhere each test reports itself skipped.
#include <filesystem>

#include "core/host_sync.h"
#include "cuda_helpers.h"
#include "data/data_loader.h"
#include "kernels/cuda/tiled_gemm.h"
#include "nn/models.h"
#include "nn/nn.h"
#include "optim/optim.h"
#include "trainer/progress_bar.h"
#include "trainer/trainer.h"

using namespace ember;
using namespace ember::testing;

namespace {

const Device gpu = Device::cuda(0);
const std::vector<DType> kFloating = {DType::f32, DType::f16, DType::bf16};

// Runs `op` on CPU inputs and on their CUDA copies; checks outputs and input gradients agree.
template <class Op>
void check_against_cpu(const std::vector<Tensor>& cpu_inputs, Op op, double tolerance, bool gradients = true) {
  std::vector<Tensor> cpu_leaves, gpu_leaves;
  for (const Tensor& input : cpu_inputs) {
    const bool differentiable = gradients && is_floating(input.dtype());
    cpu_leaves.push_back(input.detach().clone().set_requires_grad(differentiable));
    gpu_leaves.push_back(input.to(gpu).detach().set_requires_grad(differentiable));
  }
  const Tensor cpu_out = op(cpu_leaves), gpu_out = op(gpu_leaves);
  CHECK(gpu_out.device() == gpu);
  CHECK(gpu_out.dtype() == cpu_out.dtype());
  CHECK(max_relative_error(gpu_out, cpu_out) <= tolerance);
  if (!gradients || !cpu_out.requires_grad()) return;
  // A fixed upstream gradient, the same on both devices.
  const Tensor upstream = random_cpu(cpu_out.sizes(), cpu_out.dtype(), 99);
  cpu_out.backward(upstream);
  gpu_out.backward(upstream.to(gpu));
  for (std::size_t i = 0; i < cpu_leaves.size(); ++i) {
    if (!cpu_leaves[i].requires_grad() || !cpu_leaves[i].grad().defined()) continue;
    INFO("gradient of input " << i);
    CHECK(max_relative_error(gpu_leaves[i].grad(), cpu_leaves[i].grad()) <= tolerance);
  }
}

}  // namespace

TEST_CASE("CUDA casts fills and copies match the CPU for every dtype pair") {
  if (skip_without_gpu()) return;
  const std::vector<DType> all = {DType::f32, DType::f64, DType::f16, DType::bf16,
                                  DType::i32, DType::i64, DType::u8,  DType::b8};
  const Tensor source = random_cpu({1001}, DType::f32, 9, -3.0, 250.0);
  for (DType from : all) {
    for (DType into : all) {
      INFO(from << " -> " << into);
      const Tensor x = source.to(from);
      check_against_cpu({x}, [into](const auto& in) { return to(in[0], into); }, 0.0, false);
    }
  }
  for (DType dtype : all) {
    const Tensor filled = full({3, 513}, 7.0, {.dtype = dtype, .device = gpu});
    CHECK(filled.to_vector<double>() == std::vector<double>(3 * 513, dtype == DType::b8 ? 1.0 : 7.0));
  }
}

TEST_CASE("the CUDA index_add behind the Embedding backward sorts its index and matches the CPU") {
  if (skip_without_gpu()) return;
  for (DType dtype : kFloating) {
    INFO("dtype " << dtype);
    // 5000 lookups into a 1000-row table: every row is hit several times, some not at all.
    const Tensor table = random_cpu({1000, 64}, dtype, 77);
    const Tensor tokens = to(mul(random_cpu({5000}, DType::f32, 78, 0, 1), 1000.0), DType::i64);
    check_against_cpu({table, tokens}, [](const auto& in) { return index_select(in[0], 0, in[1]); },
                      tolerance_for(dtype));
    // A middle dim: index_add over [outer, n, inner] with outer > 1.
    const Tensor wide = random_cpu({3, 50, 4}, dtype, 79);
    const Tensor picks = to(mul(random_cpu({200}, DType::f32, 80, 0, 1), 50.0), DType::i64);
    check_against_cpu({wide, picks}, [](const auto& in) { return index_select(in[0], 1, in[1]); },
                      tolerance_for(dtype));
  }
}

TEST_CASE("the fused CUDA SGD step matches the CPU kernel with momentum nesterov and weight decay") {
  if (skip_without_gpu()) return;
  for (const optim::SGDOptions& options :
       {optim::SGDOptions{.lr = 0.1}, optim::SGDOptions{.lr = 0.1, .momentum = 0.9, .dampening = 0.2, .weight_decay = 0.01},
        optim::SGDOptions{.lr = 0.1, .momentum = 0.9, .weight_decay = 0.01, .nesterov = true}}) {
    auto run = [&](Device device) {
      std::vector<Tensor> params;
      for (std::int64_t i = 0; i < 30; ++i) {
        params.push_back(random_cpu({1 + i * 997}, DType::f32, 120 + i).to(device).set_requires_grad(true));
      }
      optim::SGD sgd(params, options);
      for (int step = 0; step < 3; ++step) {
        for (std::size_t i = 0; i < params.size(); ++i) {
          params[i].set_grad(random_cpu(params[i].sizes(), DType::f32, 300 * step + i).to(device));
        }
        sgd.step();
      }
      return params;
    };
    const auto cpu_params = run(Device::cpu()), gpu_params = run(gpu);
    for (std::size_t i = 0; i < cpu_params.size(); ++i) CHECK(max_relative_error(gpu_params[i], cpu_params[i]) <= 1e-5);
  }
}

TEST_CASE("the hand-written tiled GEMM matches cuBLASLt on aligned and ragged shapes") {
  if (skip_without_gpu()) return;
  for (DType dtype : {DType::f16, DType::bf16}) {
    // Exactly one tile; aligned multi-tile; ragged sizes that take the element-wise loads.
    for (const auto& [m, n, k] : {std::tuple<std::int64_t, std::int64_t, std::int64_t>{128, 128, 32},
                                  {256, 264, 96}, {200, 130, 70}, {1, 9, 3}}) {
      INFO("dtype " << dtype << ", " << m << " x " << n << " x " << k);
      const Tensor a = random_cpu({m, k}, dtype, 81).to(gpu), b = random_cpu({k, n}, dtype, 82).to(gpu);
      const Tensor expected = matmul(a, b);
      Tensor c = empty({m, n}, {.dtype = dtype, .device = gpu});
      kernels::cuda::tiled_gemm(dtype, m, n, k, a.data_ptr(), b.data_ptr(), c.data_ptr());
      // Both accumulate in f32; they differ by the order of the sums and one rounding to dtype.
      CHECK(max_relative_error(c, expected.to(Device::cpu())) <= 2e-2);
    }
  }
}

TEST_CASE("the same seed gives the same uniform init and dropout mask on CPU and GPU") {
  if (skip_without_gpu()) return;
  Generator cpu_generator(1234), gpu_generator(1234);
  const Tensor cpu_values = uniform({4099}, -0.3, 0.3, {}, cpu_generator);
  const Tensor gpu_values = uniform({4099}, -0.3, 0.3, {.device = gpu}, gpu_generator);
  // The Philox stream and the unfused arithmetic make them equal bit for bit.
  CHECK(gpu_values.to_vector<float>() == cpu_values.to_vector<float>());
  // A dropout-style mask: uniform < keep probability, equal on both devices.
  const Tensor cpu_mask = lt(rand({10000}, {}, cpu_generator), 0.8);
  const Tensor gpu_mask = lt(rand({10000}, {.device = gpu}, gpu_generator), 0.8);
  CHECK(gpu_mask.to_vector<int>() == cpu_mask.to_vector<int>());
  // Normal draws go through the device's log and cos: equal to a few ulps.
  const Tensor cpu_normal = randn({2049}, {}, cpu_generator), gpu_normal = randn({2049}, {.device = gpu}, gpu_generator);
  CHECK(max_relative_error(gpu_normal, cpu_normal) <= 1e-6);
}

TEST_CASE("the fused CUDA Adam and AdamW steps match the CPU kernel") {
  if (skip_without_gpu()) return;
  for (bool decoupled : {false, true}) {
    auto run = [&](Device device) {
      // Many tensors of odd sizes: the multi-tensor launch splits and packs them.
      std::vector<Tensor> params;
      for (std::int64_t i = 0; i < 30; ++i) {
        params.push_back(random_cpu({1 + i * 997}, DType::f32, 20 + i).to(device).set_requires_grad(true));
      }
      std::unique_ptr<optim::Optimizer> adam;
      if (decoupled) {
        adam = std::make_unique<optim::AdamW>(params, optim::AdamWOptions{.lr = 0.01, .weight_decay = 0.1});
      } else {
        adam = std::make_unique<optim::Adam>(params, optim::AdamOptions{.lr = 0.01, .weight_decay = 0.1});
      }
      for (int step = 0; step < 3; ++step) {
        for (std::size_t i = 0; i < params.size(); ++i) {
          params[i].set_grad(random_cpu(params[i].sizes(), DType::f32, 100 * step + i).to(device));
        }
        adam->step();
      }
      return params;
    };
    const auto cpu_params = run(Device::cpu()), gpu_params = run(gpu);
    for (std::size_t i = 0; i < cpu_params.size(); ++i) CHECK(max_relative_error(gpu_params[i], cpu_params[i]) <= 1e-5);
  }
}

TEST_CASE("the CUDA GradScaler skips an overflowing step and unscales like the CPU") {
  if (skip_without_gpu()) return;
  const Tensor w = from_vector<float>({1, 2, 3}).to(gpu).set_requires_grad(true);
  optim::SGD sgd({w}, {.lr = 0.5});
  optim::GradScaler scaler;
  scaler.scale(sum(mul(w, from_vector<float>({0.5f, -0.25f, 2.0f}).to(gpu)))).backward();
  CHECK(scaler.step(sgd));
  scaler.update();
  check_values(w, {0.75, 2.125, 2.0}, 0.0);
  sgd.zero_grad();
  scaler.scale(sum(mul(w, from_vector<float>({1, INFINITY, 1}).to(gpu)))).backward();
  CHECK_FALSE(scaler.step(sgd));
  scaler.update();
  CHECK(scaler.get_scale() == 32768.0);
  check_values(w, {0.75, 2.125, 2.0}, 0.0);
}

TEST_CASE("the caching allocator reuses blocks and counts allocated reserved and peak bytes") {
  if (skip_without_gpu()) return;
  cuda::empty_cache();
  cuda::reset_peak_memory_stats(0);
  const cuda::MemoryStats before = cuda::memory_stats(0);
  const void* first_address = nullptr;
  {
    const Tensor x = empty({1 << 20}, {.device = gpu});  // 4 MiB: its own bin
    first_address = x.data_ptr();
    CHECK(cuda::memory_stats(0).allocated == before.allocated + (std::size_t{4} << 20));
  }
  // Freed: still reserved, no longer allocated; the same request gets the same block back.
  CHECK(cuda::memory_stats(0).allocated == before.allocated);
  CHECK(cuda::memory_stats(0).reserved >= before.reserved + (std::size_t{4} << 20));
  CHECK(cuda::memory_stats(0).peak_allocated >= before.allocated + (std::size_t{4} << 20));
  {
    const Tensor y = empty({1 << 20}, {.device = gpu});
    CHECK(y.data_ptr() == first_address);
  }
  cuda::empty_cache();
  CHECK(cuda::memory_stats(0).reserved == cuda::memory_stats(0).allocated);
  const std::string oom = error_of([] { empty({std::int64_t{1} << 45}, {.device = Device::cuda()}); });
  CHECK(contains(oom, "CUDA out of memory"));
}

TEST_CASE("pinned memory round trip and the DataLoader pins batches by default with a GPU") {
  if (skip_without_gpu()) return;
  const Tensor host = random_cpu({1000}, DType::f32, 30);
  const Tensor pinned = pin_memory(host);
  CHECK(cuda::is_pinned(pinned.data_ptr()));
  const Tensor on_gpu = to(pinned, gpu, /*non_blocking=*/true);
  CHECK(on_gpu.to_vector<float>() == host.to_vector<float>());
  auto dataset = std::make_shared<data::TensorDataset>(std::vector<Tensor>{host.reshape({100, 10})});
  data::DataLoader loader(dataset, {.batch_size = 10, .num_workers = 2, .pin_memory = true});
  for (const data::Batch& batch : loader) CHECK(cuda::is_pinned(batch[0].data_ptr()));
}

TEST_CASE("an MLP trained on the GPU with 16-mixed follows the CPU run") {
  if (skip_without_gpu()) return;
  // Same init, same data: a few Adam steps in f32 on both devices agree closely, and 16-mixed
  // on the GPU stays within f16's precision of them.
  auto train = [](Device device, bool mixed) {
    Generator generator(7);
    nn::Sequential net({std::make_shared<nn::Linear>(20, 64), std::make_shared<nn::ReLU>(),
                        std::make_shared<nn::Linear>(64, 5)});
    for (const Tensor& p : net.parameters()) nn::init::uniform_(p, -0.2, 0.2, generator);
    net.to(device);
    optim::Adam adam(net.parameters(), {.lr = 1e-2});
    optim::GradScaler scaler({.enabled = mixed});
    const Tensor x = random_cpu({64, 20}, DType::f32, 40).to(device);
    const Tensor y = to(mul(random_cpu({64}, DType::f32, 41, 0, 1), 5.0), DType::i64).to(device);
    for (int step = 0; step < 5; ++step) {
      adam.zero_grad();
      Tensor loss;
      {
        AutocastGuard autocast(DType::f16, mixed);
        loss = nn::functional::cross_entropy(net(x), y);
      }
      scaler.scale(loss).backward();
      scaler.step(adam);
      scaler.update();
    }
    return net.parameters()[0].to(Device::cpu());
  };
  const Tensor cpu32 = train(Device::cpu(), false), gpu32 = train(gpu, false), gpu16 = train(gpu, true);
  CHECK(max_relative_error(gpu32.to(gpu), cpu32) <= 1e-4);
  CHECK(max_relative_error(gpu16.to(gpu), cpu32) <= 2e-2);
}

namespace {

// The main job's CNN as a TrainModule, for the Trainer on the GPU.
class CnnModule : public trainer::TrainModule {
 public:
  CnnModule() : net_(register_module("net", nn::models::fashion_mnist_cnn())) {}
  Tensor forward(const Tensor& x) override { return (*net_)(x); }
  std::string type_name() const override { return "CnnModule"; }
  Tensor training_step(const data::Batch& batch, std::int64_t) override {
    const Tensor loss = nn::functional::cross_entropy(forward(batch[0]), batch[1]);
    log("train_loss", loss, batch[0].size(0));
    return loss;
  }
  trainer::OptimizerConfig configure_optimizers() override {
    return {.optimizer = std::make_unique<optim::Adam>(parameters(), optim::AdamOptions{.lr = 1e-3})};
  }

 private:
  std::shared_ptr<nn::Sequential> net_;
};

}  // namespace

TEST_CASE("the Trainer runs the CNN on the GPU in 16-mixed and its checkpoint holds the GPU weights") {
  if (skip_without_gpu()) return;
  manual_seed(3);
  CnnModule module;
  const Tensor images = random_cpu({64, 1, 28, 28}, DType::f32, 70);
  const Tensor labels = to(mul(random_cpu({64}, DType::f32, 71, 0, 1), 10.0), DType::i64);
  auto dataset = std::make_shared<data::TensorDataset>(std::vector<Tensor>{images, labels});
  data::DataLoader loader(dataset, {.batch_size = 16, .pin_memory = true});
  trainer::Trainer trainer({.max_epochs = 3, .precision = "16-mixed", .accelerator = "cuda"});
  trainer.fit(module, loader);
  CHECK(trainer.global_step() == 12);
  CHECK(module.parameters()[0].device() == gpu);
  CHECK(module.parameters()[0].dtype() == DType::f32);  // master weights stay f32
  const auto path = std::filesystem::temp_directory_path() / "ember_cuda_trainer.safetensors";
  trainer.save_checkpoint(path.string(), module);
  const nn::StateDict saved = trainer::checkpoint_weights(path.string());
  const nn::StateDict live = module.state_dict();
  REQUIRE(saved.size() == live.size());
  for (std::size_t i = 0; i < saved.size(); ++i) {
    CHECK(saved[i].second.to_vector<float>() == live[i].second.to_vector<float>());
  }
  std::filesystem::remove(path);
}

TEST_CASE("a CUDA training step makes no host synchronization in 32 and bf16-mixed, one in 16-mixed") {
  if (skip_without_gpu()) return;
  // The device layer counts every wait (core/host_sync.h). With pinned batches copied without
  // waiting, log(name, Tensor) and the progress bar off a terminal, a run's waits do not grow with
  // its steps; 16-mixed adds the GradScaler's read of its inf/NaN flag, once per step.
  std::FILE* sink = std::fopen("/dev/null", "w");
  auto waits_of_a_run = [&](std::int64_t samples, const std::string& precision) {
    manual_seed(3);
    CnnModule module;
    const Tensor images = random_cpu({samples, 1, 28, 28}, DType::f32, 70);
    const Tensor labels = to(mul(random_cpu({samples}, DType::f32, 71, 0, 1), 10.0), DType::i64);
    auto dataset = std::make_shared<data::TensorDataset>(std::vector<Tensor>{images, labels});
    data::DataLoader loader(dataset, {.batch_size = 16, .pin_memory = true});
    trainer::Trainer trainer({.max_epochs = 1, .gradient_clip_val = 1.0,
                              .callbacks = {std::make_shared<trainer::ProgressBar>(sink)}, .precision = precision,
                              .accelerator = "cuda"});
    const std::int64_t before = host_sync_count();
    trainer.fit(module, loader);
    return host_sync_count() - before;
  };
  for (const std::string precision : {"32", "bf16-mixed"}) {
    INFO("precision " << precision);
    CHECK(waits_of_a_run(64, precision) == waits_of_a_run(256, precision));  // 4 and 16 steps
  }
  CHECK(waits_of_a_run(256, "16-mixed") - waits_of_a_run(64, "16-mixed") == 12);
  std::fclose(sink);
}
