// Tensor factories (core/ops/factory.h) and the fused optimizer ops (core/ops/optimizer.h).
// A factory case gets one input only to learn the dtype and device to create on.
#include "op_table/op_table.h"

namespace ember::op_table {

namespace {

using Args = const std::vector<Tensor>&;

TensorOptions like(const Tensor& x) { return {.dtype = x.dtype(), .device = x.device()}; }

OpCase factory(std::string op, std::string label, std::function<Tensor(const Tensor&)> make) {
  return {.op = op,
          .label = label,
          .inputs = {{.shape = {1}, .requires_grad = false}},
          .run = [make](Args x) { return make(x[0]); },
          .differentiable = false};
}

}  // namespace

std::vector<OpCase> factory_and_optimizer_cases() {
  std::vector<OpCase> cases = {
      factory("zeros", "[3, 4]", [](const Tensor& x) { return zeros({3, 4}, like(x)); }),
      factory("ones", "[3, 4]", [](const Tensor& x) { return ones({3, 4}, like(x)); }),
      factory("full", "[2, 5] of -1.5", [](const Tensor& x) { return full({2, 5}, -1.5, like(x)); }),
      factory("scalar_tensor", "0-dim", [](const Tensor& x) { return scalar_tensor(0.75, like(x)); }),
      factory("zeros_like", "of a [4]", [](const Tensor& x) { return zeros_like(x.expand({4}).contiguous()); }),
      factory("ones_like", "of a [4]", [](const Tensor& x) { return ones_like(x.expand({4}).contiguous()); }),
      factory("full_like", "of a [4]", [](const Tensor& x) { return full_like(x.expand({4}).contiguous(), 3.0); }),
      factory("arange", "floating steps, and the i64 form",
              [](const Tensor& x) {
                return cat({arange(0.5, 3.0, 0.25, like(x)), arange(4, {.dtype = DType::i64, .device = x.device()})
                                                                 .to(x.dtype())});
              }),
      // Values never written: only the shape, dtype and device are the op's answer.
      factory("empty", "shape, dtype and device",
              [](const Tensor& x) {
                const Tensor made = empty({2, 3}, like(x));
                EMBER_CHECK(made.dtype() == x.dtype() && made.device() == x.device(), "empty: wrong dtype or device");
                return from_vector<std::int64_t>({made.size(0), made.size(1)});
              }),
      factory("empty_like", "shape, dtype and device",
              [](const Tensor& x) {
                const Tensor made = empty_like(x.expand({5}));
                EMBER_CHECK(made.dtype() == x.dtype() && made.device() == x.device(), "empty_like: wrong dtype or device");
                return from_vector<std::int64_t>({made.size(0)});
              }),
      // One Philox stream on every device: a seed gives the same values on the CPU and the GPU.
      factory("rand", "seeded", [](const Tensor& x) {
        Generator generator(3);
        return rand({4, 5}, like(x), generator);
      }),
      factory("randn", "seeded", [](const Tensor& x) {
        Generator generator(3);
        return randn({4, 5}, like(x), generator);
      }),
      factory("uniform", "seeded, in [-2, 1)", [](const Tensor& x) {
        Generator generator(4);
        return uniform({4, 5}, -2.0, 1.0, like(x), generator);
      }),
      factory("normal", "seeded, mean 1 std 3", [](const Tensor& x) {
        Generator generator(4);
        return normal({4, 5}, 1.0, 3.0, like(x), generator);
      }),
      factory("randperm", "seeded, of 10", [](const Tensor& x) {
        Generator generator(5);
        return randperm(10, generator).to(x.device());
      }),
      factory("from_vector", "made on the CPU, moved", [](const Tensor& x) {
        return from_vector<double>({1.5, -2, 0.25}, {3}).to(x.dtype()).to(x.device());
      }),
      factory("from_blob", "over another tensor's memory on its device", [](const Tensor& x) {
        const Tensor owner = full({2, 3}, 2.5, like(x));
        return from_blob(owner.data_ptr(), {3, 2}, owner.dtype(), owner.device()) * 1.0;
      }),
  };
  // The optimizer ops take master weights: f32 and f64 only.
  cases.push_back({.op = "adam_step_",
                   .label = "AdamW at step 3: parameter and both moments",
                   .inputs = {{.shape = {5, 3}, .requires_grad = false},
                              {.shape = {5, 3}, .requires_grad = false},
                              {.shape = {5, 3}, .requires_grad = false},
                              {.shape = {5, 3}, .values = Values::positive, .requires_grad = false}},
                   .run = [](Args x) {
                     adam_step_({x[0]}, {x[1]}, {x[2]}, {x[3]}, {},
                                {.lr = 1e-2, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.1,
                                 .decoupled_weight_decay = true, .step = 3});
                     return cat({x[0], x[2], x[3]});
                   },
                   .differentiable = false,
                   .half_precision = false,
                   .in_place = true,
                   .perf_inputs = {{.shape = {1 << 24}, .requires_grad = false},
                                   {.shape = {1 << 24}, .requires_grad = false},
                                   {.shape = {1 << 24}, .requires_grad = false},
                                   {.shape = {1 << 24}, .values = Values::positive, .requires_grad = false}}});
  cases.push_back({.op = "adam_step_",
                   .label = "Adam with amsgrad and maximize: parameter, moments and the maxima",
                   .inputs = {{.shape = {5, 3}, .requires_grad = false},
                              {.shape = {5, 3}, .requires_grad = false},
                              {.shape = {5, 3}, .requires_grad = false},
                              {.shape = {5, 3}, .values = Values::positive, .requires_grad = false},
                              {.shape = {5, 3}, .values = Values::positive, .requires_grad = false}},
                   .run = [](Args x) {
                     adam_step_({x[0]}, {x[1]}, {x[2]}, {x[3]}, {x[4]},
                                {.lr = 1e-2, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .weight_decay = 0.1,
                                 .decoupled_weight_decay = false, .step = 4, .maximize = true, .amsgrad = true});
                     return cat({x[0], x[2], x[3], x[4]});
                   },
                   .differentiable = false,
                   .half_precision = false,
                   .in_place = true});
  cases.push_back({.op = "sgd_step_",
                   .label = "Nesterov momentum and weight decay, two parameters",
                   .inputs = {{.shape = {4, 3}, .requires_grad = false},
                              {.shape = {4, 3}, .requires_grad = false},
                              {.shape = {4, 3}, .requires_grad = false},
                              {.shape = {7}, .requires_grad = false},
                              {.shape = {7}, .requires_grad = false},
                              {.shape = {7}, .requires_grad = false}},
                   .run = [](Args x) {
                     sgd_step_({x[0], x[3]}, {x[1], x[4]}, {x[2], x[5]},
                               {.lr = 0.1, .momentum = 0.9, .dampening = 0, .weight_decay = 0.01, .nesterov = true,
                                .first_step = false});
                     return cat({x[0].flatten(), x[2].flatten(), x[3], x[5]});
                   },
                   .differentiable = false,
                   .half_precision = false,
                   .in_place = true});
  cases.push_back({.op = "unscale_and_check_finite_",
                   .label = "finite gradients, then one with an inf",
                   .inputs = {{.shape = {4, 3}, .requires_grad = false}, {.shape = {5}, .requires_grad = false}},
                   .run = [](Args x) {
                     const Tensor clean = zeros({1}, {.device = x[0].device()});
                     unscale_and_check_finite_({x[0], x[1]}, 1.0 / 1024, clean);
                     const Tensor dirty = zeros({1}, {.device = x[0].device()});
                     const Tensor with_inf = full({2}, INFINITY, like(x[0]));
                     unscale_and_check_finite_({x[1], with_inf}, 0.5, dirty);
                     return cat({x[0].flatten(), x[1], clean.to(x[0].dtype()), dirty.to(x[0].dtype())});
                   },
                   .differentiable = false,
                   .half_precision = false,
                   .in_place = true});
  return cases;
}

}  // namespace ember::op_table
