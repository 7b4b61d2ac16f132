// ember against PyTorch 1.13 on every case of tests/fixtures/parity.safetensors, written by
// tests/fixtures/make_parity_fixtures.py (the expressions below are that script's, case by case).
// Each case runs in f64 and f32 on PyTorch's inputs; its output and the gradients of
// <output, grad_out> must agree with PyTorch's to 1e-10 (f64) and 1e-5 (f32): an element may be off
// by that fraction of its own magnitude plus the tensor's largest, so that an element near zero
// after cancellation is judged on the scale of the tensor it belongs to. Integer outputs (indices)
// must be equal.
#include <cmath>
#include <functional>
#include <iostream>
#include <limits>
#include <map>
#include <set>
#include <sstream>

#include "helpers.h"
#include "io/safetensors.h"
#include "nn/nn.h"
#include "optim/optim.h"

using namespace ember;
using namespace ember::testing;
using namespace ember::nn::functional;

namespace {

using Args = const std::vector<Tensor>&;
using Expression = std::function<Tensor(Args)>;

Tensor sgd_trajectory(Args x, const optim::SGDOptions& options) {
  Tensor p = clone(x[0]).set_requires_grad(true);
  optim::SGD sgd({p}, options);
  for (std::int64_t step = 0; step < x[1].size(0); ++step) {
    p.set_grad(clone(x[1].select(0, step)));
    sgd.step();
  }
  return p.detach();
}

template <class Optimizer, class Options>
Tensor adam_trajectory(Args x, const Options& options) {
  Tensor p = clone(x[0]).set_requires_grad(true);
  Optimizer adam({p}, options);
  for (std::int64_t step = 0; step < x[1].size(0); ++step) {
    p.set_grad(clone(x[1].select(0, step)));
    adam.step();
  }
  return p.detach();
}

// lr and momentum after construction and each of 10 steps, as the script's one_cycle.
Tensor one_cycle_trace(optim::Optimizer& optimizer, const optim::OneCycleOptions& options) {
  optim::OneCycleLR scheduler(optimizer, 1.0, 10, options);
  std::vector<double> values;
  for (int step = 0; step < 10; ++step) {
    values.push_back(optimizer.param_groups()[0].lr);
    values.push_back(optimizer.param_groups()[0].momentum.value());
    scheduler.step();
  }
  return from_vector(values);
}

// The lr after construction and each of 8 steps from a base lr of 1, as the script's lr_trace.
template <class Make>
Tensor lr_trace(Make make) {
  optim::SGD sgd({zeros({1}).set_requires_grad(true)}, {.lr = 1.0});
  auto scheduler = make(sgd);
  std::vector<double> lrs = {sgd.param_groups()[0].lr};
  for (int step = 0; step < 8; ++step) {
    scheduler.step();
    lrs.push_back(sgd.param_groups()[0].lr);
  }
  return from_vector(lrs);
}

Tensor clipped(Args x, double norm_type) {
  std::vector<Tensor> params = {zeros_like(x[0]).set_requires_grad(true), zeros_like(x[1]).set_requires_grad(true)};
  params[0].set_grad(clone(x[0]));
  params[1].set_grad(clone(x[1]));
  // ember returns the norm in f64 (it sums in f64), PyTorch in the gradients' dtype.
  const Tensor total = optim::clip_grad_norm_(params, 0.5, norm_type).to(x[0].dtype());
  return cat({params[0].grad().flatten(), params[1].grad().flatten(), total.reshape({1})});
}

Conv2dParams padded(PadMode mode, std::array<std::int64_t, 2> padding) {
  return {.padding = padding, .padding_mode = mode};
}

const std::map<std::string, Expression>& expressions() {
  static const std::map<std::string, Expression> table = {
      // elementwise
      {"add_broadcast_alpha", [](Args x) { return add(x[0], x[1], 0.5); }},
      {"sub_broadcast", [](Args x) { return x[0] - x[1]; }},
      {"mul_broadcast", [](Args x) { return x[0] * x[1]; }},
      {"div", [](Args x) { return x[0] / x[1]; }},
      {"pow_tensor", [](Args x) { return pow(x[0], x[1]); }},
      {"pow_scalar", [](Args x) { return pow(x[0], 2.5); }},
      {"scalar_arithmetic", [](Args x) { return ((x[0] + 2.0) * -3.0 - 1.5) / 4.0; }},
      {"neg_exp", [](Args x) { return exp(neg(x[0])); }},
      {"log", [](Args x) { return log(x[0]); }},
      {"sqrt", [](Args x) { return sqrt(x[0]); }},
      {"abs", [](Args x) { return abs(x[0]); }},
      {"relu", [](Args x) { return relu(x[0]); }},
      {"gelu", [](Args x) { return gelu(x[0]); }},
      {"gelu_tanh", [](Args x) { return gelu(x[0], GeluApproximate::tanh); }},
      {"sigmoid", [](Args x) { return sigmoid(x[0]); }},
      {"tanh", [](Args x) { return tanh(x[0]); }},
      {"clamp", [](Args x) { return clamp(x[0], -1.0, 1.0); }},
      {"where", [](Args x) { return where(eq(x[0], 0.0), x[2].expand(x[1].sizes()), x[1]); }},
      {"comparisons",
       [](Args x) {
         const std::vector<Tensor> all = {eq(x[0], x[1]), ne(x[0], x[1]), lt(x[0], x[1]),
                                          le(x[0], x[1]), gt(x[0], x[1]), ge(x[0], x[1])};
         return to(stack(all), DType::i64);
       }},
      // reductions
      {"sum_all", [](Args x) { return sum(x[0]); }},
      {"sum_dims_keepdim", [](Args x) { return sum(x[0], {0, 2}, true); }},
      {"mean_all", [](Args x) { return mean(x[0]); }},
      {"mean_dim", [](Args x) { return mean(x[0], {1}); }},
      {"var_dim", [](Args x) { return var(x[0], {1}); }},
      {"var_population_keepdim", [](Args x) { return var(x[0], {0}, 0, true); }},
      {"max_dim", [](Args x) { return max(x[0], 1); }},
      {"min_dim_keepdim", [](Args x) { return min(x[0], 0, true); }},
      {"max_all_ties", [](Args x) { return max(x[0]); }},
      {"min_all_ties", [](Args x) { return min(x[0]); }},
      {"argmax_dim", [](Args x) { return argmax(x[0], 1); }},
      {"argmin_all", [](Args x) { return argmin(x[0]); }},
      // softmax, products, normalization
      {"softmax", [](Args x) { return softmax(x[0], 1); }},
      {"log_softmax", [](Args x) { return log_softmax(x[0], 0); }},
      {"matmul", [](Args x) { return matmul(x[0], x[1]); }},
      {"matmul_batched", [](Args x) { return matmul(x[0], x[1]); }},
      {"matmul_transposed", [](Args x) { return matmul(x[0].t(), x[1].t()); }},
      {"softmax_strided", [](Args x) { return softmax(x[0].t(), 1); }},
      {"linear", [](Args x) { return linear(x[0], x[1], x[2]); }},
      {"layer_norm", [](Args x) { return layer_norm(x[0], {4, 5}, x[1], x[2], 1e-5); }},
      {"batch_norm_training",
       [](Args x) {
         const Tensor mean = zeros_like(x[1]), var = ones_like(x[1]);
         return batch_norm(x[0], mean, var, x[1], x[2], true, 0.1, 1e-5);
       }},
      {"batch_norm_eval", [](Args x) { return batch_norm(x[0], x[1], x[2], x[3], x[4], false, 0.1, 1e-5); }},
      // convolution
      {"conv2d_stride_padding_dilation_groups",
       [](Args x) {
         return conv2d(x[0], x[1], x[2], {.stride = {2, 1}, .padding = {1, 2}, .dilation = {1, 2}, .groups = 2});
       }},
      {"conv2d_same_even_kernel", [](Args x) { return conv2d(x[0], x[1], x[2], {.padding_rule = ConvPadding::same}); }},
      {"conv2d_valid", [](Args x) { return conv2d(x[0], x[1], {}, {.padding_rule = ConvPadding::valid}); }},
      {"conv2d_same_reflect",
       [](Args x) {
         return conv2d(x[0], x[1], x[2], {.padding_rule = ConvPadding::same, .padding_mode = PadMode::reflect});
       }},
      {"conv2d_replicate", [](Args x) { return conv2d(x[0], x[1], x[2], padded(PadMode::replicate, {1, 2})); }},
      {"conv2d_circular", [](Args x) { return conv2d(x[0], x[1], x[2], padded(PadMode::circular, {1, 2})); }},
      {"conv_transpose2d",
       [](Args x) {
         return conv_transpose2d(x[0], x[1], x[2], {.stride = {2, 2}, .padding = {1, 1}, .output_padding = {1, 0}});
       }},
      {"conv_transpose2d_groups_dilation",
       [](Args x) { return conv_transpose2d(x[0], x[1], x[2], {.stride = {1, 2}, .dilation = {2, 1}, .groups = 2}); }},
      // pooling and resampling
      {"max_pool2d_padding", [](Args x) { return max_pool2d(x[0], {.kernel = {3, 3}, .stride = {2, 2}, .padding = {1, 1}}); }},
      {"max_pool2d_dilation_ceil",
       [](Args x) {
         return max_pool2d(x[0], {.kernel = {2, 3}, .stride = {2, 2}, .padding = {1, 1}, .dilation = {2, 1},
                                  .ceil_mode = true});
       }},
      {"max_pool2d_indices",
       [](Args x) { return max_pool2d_with_indices(x[0], {.kernel = {3, 2}, .stride = {2, 2}}).second; }},
      {"max_unpool2d",
       [](Args x) {
         const auto [pooled, indices] = max_pool2d_with_indices(x[0], {.kernel = {2, 2}});
         return max_unpool2d(pooled, indices, {.kernel = {2, 2}}, {7, 6});
       }},
      {"avg_pool2d_padding", [](Args x) { return avg_pool2d(x[0], {.kernel = {2, 3}, .stride = {2, 2}, .padding = {1, 1}}); }},
      {"avg_pool2d_ceil_exclude_pad",
       [](Args x) {
         return avg_pool2d(x[0], {.kernel = {3, 3}, .stride = {2, 2}, .padding = {1, 1}, .ceil_mode = true,
                                  .count_include_pad = false});
       }},
      {"avg_pool2d_divisor_override",
       [](Args x) {
         return avg_pool2d(x[0], {.kernel = {3, 3}, .stride = {2, 2}, .padding = {1, 1}, .divisor_override = 4});
       }},
      {"adaptive_avg_pool2d", [](Args x) { return adaptive_avg_pool2d(x[0], {3, 4}); }},
      {"interpolate_nearest", [](Args x) { return interpolate(x[0], {.size = {9, 4}}); }},
      {"interpolate_bilinear",
       [](Args x) { return interpolate(x[0], {.size = {9, 4}, .mode = InterpolateMode::bilinear}); }},
      {"interpolate_bilinear_aligned",
       [](Args x) {
         return interpolate(x[0], {.size = {9, 4}, .mode = InterpolateMode::bilinear, .align_corners = true});
       }},
      {"interpolate_scale_factor", [](Args x) { return interpolate(x[0], {.scale_factor = {1.5, 2.0}}); }},
      // indexing, padding, joining
      {"index_select", [](Args x) { return index_select(x[0], 1, x[1]); }},
      {"gather", [](Args x) { return gather(x[0], 1, x[1]); }},
      {"scatter_add", [](Args x) { return scatter_add(x[0], 0, x[1], x[2]); }},
      {"scatter_distinct",
       [](Args x) {
         const Tensor index = to(from_vector<std::int64_t>({3, 0, 1, 2, 0, 3}, {3, 2}), x[0].device());
         return scatter(x[0], 1, index, x[1]);
       }},
      {"embedding", [](Args x) { return embedding(x[0], x[1]); }},
      {"embedding_padding_idx", [](Args x) { return embedding(x[0], x[1], 2); }},
      {"pad_constant", [](Args x) { return pad(x[0], {2, 1, 1, 2}, PadMode::constant, 0.5); }},
      {"pad_reflect", [](Args x) { return pad(x[0], {2, 1, 1, 2}, PadMode::reflect); }},
      {"pad_replicate", [](Args x) { return pad(x[0], {2, 1, 1, 2}, PadMode::replicate); }},
      {"pad_circular", [](Args x) { return pad(x[0], {2, 1, 1, 2}, PadMode::circular); }},
      {"cat", [](Args x) { return cat({x[0], x[1]}, 1); }},
      {"stack", [](Args x) { return stack({x[0], x[1]}, 1); }},
      {"views",
       [](Args x) { return x[0].permute({2, 0, 1}).reshape({4, 6}).slice(0, 1, 4).slice(1, 0, 6, 2).t().unsqueeze(0).expand({2, 3, 3}); }},
      // losses
      {"cross_entropy", [](Args x) { return cross_entropy(x[0], x[1]); }},
      {"cross_entropy_weight_ignore",
       [](Args x) {
         const Tensor target = where(eq(x[1], 1.0), full_like(x[1], -100), x[1]);
         return cross_entropy(x[0], target, {.weight = x[2]});
       }},
      {"cross_entropy_smoothing_weight_sum",
       [](Args x) {
         return cross_entropy(x[0], x[1], {.weight = x[2], .reduction = Reduction::sum, .label_smoothing = 0.3});
       }},
      {"cross_entropy_images", [](Args x) { return cross_entropy(x[0], x[1]); }},
      {"cross_entropy_probabilities",
       [](Args x) { return cross_entropy(x[0], x[1], {.weight = x[2], .label_smoothing = 0.1}); }},
      {"nll_loss_weight", [](Args x) { return nll_loss(log_softmax(x[0], 1), x[1], {.weight = x[2]}); }},
      {"mse_loss", [](Args x) { return mse_loss(x[0], x[1]); }},
      {"l1_loss_sum", [](Args x) { return l1_loss(x[0], x[1], Reduction::sum); }},
      {"bce_with_logits", [](Args x) { return binary_cross_entropy_with_logits(x[0], x[1] / 2.0); }},
      {"bce_with_logits_weights",
       [](Args x) {
         return binary_cross_entropy_with_logits(x[0], x[1] / 2.0,
                                                 {.weight = x[2], .pos_weight = x[3], .reduction = Reduction::none});
       }},
      // optimizers, schedulers, clipping
      {"sgd_momentum_dampening_decay_maximize",
       [](Args x) {
         return sgd_trajectory(x, {.lr = 0.1, .momentum = 0.9, .dampening = 0.2, .weight_decay = 0.01, .maximize = true});
       }},
      {"sgd_nesterov", [](Args x) { return sgd_trajectory(x, {.lr = 0.1, .momentum = 0.8, .nesterov = true}); }},
      {"adam_decay",
       [](Args x) {
         return adam_trajectory<optim::Adam>(x, optim::AdamOptions{.lr = 0.01, .beta1 = 0.8, .beta2 = 0.99,
                                                                   .weight_decay = 0.1});
       }},
      {"adam_amsgrad_maximize",
       [](Args x) {
         return adam_trajectory<optim::Adam>(x, optim::AdamOptions{.lr = 0.01, .maximize = true, .amsgrad = true});
       }},
      {"adamw_amsgrad",
       [](Args x) {
         return adam_trajectory<optim::AdamW>(x, optim::AdamWOptions{.lr = 0.01, .weight_decay = 0.1, .amsgrad = true});
       }},
      {"step_lr", [](Args) { return lr_trace([](optim::Optimizer& o) { return optim::StepLR(o, 3, 0.5); }); }},
      {"multi_step_lr",
       [](Args) { return lr_trace([](optim::Optimizer& o) { return optim::MultiStepLR(o, {2, 5}, 0.1); }); }},
      {"cosine_annealing_lr",
       [](Args) { return lr_trace([](optim::Optimizer& o) { return optim::CosineAnnealingLR(o, 6, 0.1); }); }},
      {"one_cycle_three_phase_linear",
       [](Args) {
         optim::SGD sgd({zeros({1}).set_requires_grad(true)}, {.lr = 1.0, .momentum = 0.9});
         return one_cycle_trace(sgd, {.pct_start = 0.3, .anneal_strategy = optim::OneCycleOptions::Anneal::linear,
                                      .three_phase = true});
       }},
      {"one_cycle_cos_adam",
       [](Args) {
         optim::Adam adam({zeros({1}).set_requires_grad(true)});
         return one_cycle_trace(adam, {.pct_start = 0.25, .div_factor = 10, .final_div_factor = 100});
       }},
      {"reduce_lr_on_plateau_abs",
       [](Args x) {
         optim::SGD sgd({zeros({1}).set_requires_grad(true)}, {.lr = 1.0});
         optim::ReduceLROnPlateau plateau(sgd, optim::ReduceLROnPlateau::Mode::min, 0.5, /*patience=*/1,
                                          /*threshold=*/0.1, /*cooldown=*/1, /*min_lr=*/0, /*eps=*/1e-8,
                                          optim::ReduceLROnPlateau::ThresholdMode::abs);
         std::vector<double> lrs;
         for (const double metric : x[0].to_vector<double>()) {
           plateau.step(metric);
           lrs.push_back(sgd.param_groups()[0].lr);
         }
         return from_vector(lrs);
       }},
      {"clip_grad_value",
       [](Args x) {
         const Tensor p = zeros_like(x[0]).set_requires_grad(true);
         p.set_grad(clone(x[0]));
         optim::clip_grad_value_({p}, 0.7);
         return p.grad();
       }},
      {"clip_grad_norm_2", [](Args x) { return clipped(x, 2.0); }},
      {"clip_grad_norm_1", [](Args x) { return clipped(x, 1.0); }},
      {"clip_grad_norm_3", [](Args x) { return clipped(x, 3.0); }},
      {"clip_grad_norm_inf", [](Args x) { return clipped(x, std::numeric_limits<double>::infinity()); }},
  };
  return table;
}

// One case in one dtype, as the file holds it.
struct Fixture {
  std::vector<Tensor> inputs;
  std::map<std::size_t, Tensor> grads;  // by input index
  Tensor out, grad_out;
};

// "<case>/<dtype>/<what>" -> fixtures[case][dtype].
std::map<std::string, std::map<std::string, Fixture>> read_fixtures() {
  const io::SafetensorsFile file =
      io::load_safetensors(std::string(EMBER_SOURCE_DIR) + "/tests/fixtures/parity.safetensors");
  std::map<std::string, std::map<std::string, Fixture>> fixtures;
  for (const auto& [key, tensor] : file.tensors) {
    const std::size_t first = key.find('/'), second = key.find('/', first + 1);
    REQUIRE(second != std::string::npos);
    Fixture& fixture = fixtures[key.substr(0, first)][key.substr(first + 1, second - first - 1)];
    const std::string what = key.substr(second + 1);
    auto numbered = [&](const char* prefix) { return static_cast<std::size_t>(std::stoul(what.substr(std::string(prefix).size()))); };
    if (what == "out") {
      fixture.out = tensor;
    } else if (what == "grad_out") {
      fixture.grad_out = tensor;
    } else if (what.rfind("grad", 0) == 0) {
      fixture.grads[numbered("grad")] = tensor;
    } else {
      const std::size_t i = numbered("in");
      if (fixture.inputs.size() <= i) fixture.inputs.resize(i + 1);
      fixture.inputs[i] = tensor;
    }
  }
  return fixtures;
}

// An empty string when `actual` matches `expected` (see the file's comment for the rule).
std::string compare(const char* what, const Tensor& actual, const Tensor& expected, double tolerance) {
  std::ostringstream report;
  if (actual.sizes() != expected.sizes()) {
    report << what << ": shape " << to_string(actual.sizes()) << ", PyTorch's " << to_string(expected.sizes()) << "\n";
    return report.str();
  }
  const std::vector<double> got = actual.to_vector<double>(), want = expected.to_vector<double>();
  if (!is_floating(expected.dtype())) {
    if (got != want) report << what << ": integers differ from PyTorch's\n";
    return report.str();
  }
  double scale = 0;
  for (const double value : want) scale = std::max(scale, std::abs(value));
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double error = std::abs(got[i] - want[i]);
    if (!(error <= tolerance * (std::abs(want[i]) + scale))) {
      report << what << "[" << i << "]: " << got[i] << ", PyTorch " << want[i] << " (tolerance " << tolerance << ")\n";
      break;
    }
  }
  return report.str();
}

// Runs one case on its fixture, with the inputs on `device`; an empty string when everything matches.
std::string check_fixture(const Expression& expression, Fixture fixture, double tolerance, Device device) {
  for (Tensor& input : fixture.inputs) input = to(input, device);
  for (const auto& [i, grad] : fixture.grads) fixture.inputs[i] = fixture.inputs[i].detach().set_requires_grad(true);
  const Tensor out = expression(fixture.inputs);
  std::string report = compare("output", to(out, Device::cpu()), fixture.out, tolerance);
  if (fixture.grad_out.defined() && report.empty()) {
    out.backward(to(fixture.grad_out, device));
    for (const auto& [i, expected] : fixture.grads) {
      const Tensor grad = fixture.inputs[i].grad();
      const Tensor actual = grad.defined() ? to(grad, Device::cpu()) : zeros_like(expected);  // none reached it: zeros
      report += compare(("gradient of input " + std::to_string(i)).c_str(), actual, expected, tolerance);
    }
  }
  return report;
}

// Every fixture on `device`, each failure reported with its case and dtype.
void check_every_fixture(Device device) {
  const std::map<std::string, double> tolerance = {{"f64", 1e-10}, {"f32", 1e-5}};
  for (const auto& [name, dtypes] : read_fixtures()) {
    const auto expression = expressions().find(name);
    if (expression == expressions().end()) continue;  // reported by the test of the table
    for (const auto& [dtype, fixture] : dtypes) {
      std::string report;
      try {
        report = check_fixture(expression->second, fixture, tolerance.at(dtype), device);
      } catch (const std::exception& error) {
        report = std::string("threw: ") + error.what();
      }
      CHECK_MESSAGE(report.empty(), name << " in " << dtype << " on " << device.str() << ":\n" << report);
    }
  }
}

}  // namespace

TEST_CASE("every PyTorch parity fixture has an ember expression, and every expression a fixture") {
  const auto fixtures = read_fixtures();
  for (const auto& [name, dtypes] : fixtures) {
    CHECK_MESSAGE(expressions().count(name) == 1, "fixture '" << name << "' has no ember expression");
    CHECK(dtypes.size() == 2);  // f64 and f32
  }
  for (const auto& [name, expression] : expressions()) {
    CHECK_MESSAGE(fixtures.count(name) == 1, "expression '" << name << "' has no fixture: rerun make_parity_fixtures.py");
  }
}

TEST_CASE("ember agrees with PyTorch 1.13 on every parity fixture, f64 to 1e-10 and f32 to 1e-5") {
  check_every_fixture(Device::cpu());
}

// The GPU test of every option: the same fixtures with the inputs on the GPU (TF32 stays off,
// its default, so f32 keeps its 1e-5).
TEST_CASE("ember on the GPU agrees with PyTorch 1.13 on every parity fixture") {
  if (!cuda::is_available()) {
    std::cout << "SKIPPED: no CUDA device" << std::endl;
    return;
  }
  check_every_fixture(Device::cuda(0));
}
