#include "core/ops/optimizer.h"

#include <map>
#include <tuple>

#include "core/ops/op_utils.h"
#include "kernels/optimizer.h"

namespace ember {

namespace {

// Errors naming `op` unless `tensor` can be updated by a fused kernel beside `like`.
void check_updatable(const char* op, const Tensor& tensor, const Tensor& like) {
  detail::check_defined(op, tensor);
  EMBER_CHECK(tensor.is_contiguous(), op, ": expected contiguous tensors, got ", describe(tensor));
  EMBER_CHECK(tensor.dtype() == DType::f32 || tensor.dtype() == DType::f64, op,
              ": expected f32 or f64 tensors (master weights), got ", describe(tensor));
  EMBER_CHECK(tensor.sizes() == like.sizes() && tensor.dtype() == like.dtype() && tensor.device() == like.device(), op,
              ": ", describe(tensor), " does not match its parameter ", describe(like));
}

void check_counts(const char* op, std::size_t params, std::size_t other, const char* what) {
  EMBER_CHECK(other == params, op, ": ", params, " parameters but ", other, " ", what);
}

// The fused kernels take one dtype on one device: index lists of the tensors per (device, dtype).
using Groups = std::map<std::tuple<DeviceType, int, DType>, std::vector<std::size_t>>;

Groups group_by_device_and_dtype(const std::vector<Tensor>& tensors) {
  Groups groups;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const Device device = tensors[i].device();
    groups[{device.type, device.index, tensors[i].dtype()}].push_back(i);
  }
  return groups;
}

Device device_of(const Groups::key_type& key) { return Device{std::get<0>(key), std::get<1>(key)}; }

}  // namespace

void adam_step_(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                const std::vector<Tensor>& exp_avgs, const std::vector<Tensor>& exp_avg_sqs,
                const std::vector<Tensor>& max_exp_avg_sqs, const AdamHyper& hyper) {
  const char* op = "adam_step_";
  check_counts(op, params.size(), grads.size(), "gradients");
  check_counts(op, params.size(), exp_avgs.size(), "first moments");
  check_counts(op, params.size(), exp_avg_sqs.size(), "second moments");
  if (hyper.amsgrad) {
    check_counts(op, params.size(), max_exp_avg_sqs.size(), "second-moment maxima (amsgrad)");
  } else {
    EMBER_CHECK(max_exp_avg_sqs.empty(), op, ": second-moment maxima given without amsgrad");
  }
  for (std::size_t i = 0; i < params.size(); ++i) {
    check_updatable(op, params[i], params[i]);
    for (const Tensor* other : {&grads[i], &exp_avgs[i], &exp_avg_sqs[i]}) check_updatable(op, *other, params[i]);
    if (hyper.amsgrad) check_updatable(op, max_exp_avg_sqs[i], params[i]);
  }
  for (const auto& [key, indices] : group_by_device_and_dtype(params)) {
    std::vector<kernels::AdamTensors> tensors;
    for (const std::size_t i : indices) {
      void* maxima = hyper.amsgrad ? max_exp_avg_sqs[i].data_ptr() : nullptr;
      tensors.push_back({params[i].data_ptr(), grads[i].data_ptr(), exp_avgs[i].data_ptr(), exp_avg_sqs[i].data_ptr(),
                         maxima, params[i].numel()});
      for (const Tensor* written : {&params[i], &exp_avgs[i], &exp_avg_sqs[i]}) written->bump_version();
      if (hyper.amsgrad) max_exp_avg_sqs[i].bump_version();
    }
    EMBER_KERNEL(op, device_of(key), adam_step, std::get<2>(key), tensors, hyper);
  }
}

void sgd_step_(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
               const std::vector<Tensor>& momentum_buffers, const SgdHyper& hyper) {
  const char* op = "sgd_step_";
  const bool momentum = hyper.momentum != 0;
  check_counts(op, params.size(), grads.size(), "gradients");
  if (momentum) check_counts(op, params.size(), momentum_buffers.size(), "momentum buffers");
  for (std::size_t i = 0; i < params.size(); ++i) {
    check_updatable(op, params[i], params[i]);
    check_updatable(op, grads[i], params[i]);
    if (momentum) check_updatable(op, momentum_buffers[i], params[i]);
  }
  for (const auto& [key, indices] : group_by_device_and_dtype(params)) {
    std::vector<kernels::SgdTensors> tensors;
    for (const std::size_t i : indices) {
      void* buffer = momentum ? momentum_buffers[i].data_ptr() : nullptr;
      tensors.push_back({params[i].data_ptr(), grads[i].data_ptr(), buffer, params[i].numel()});
      params[i].bump_version();
      if (momentum) momentum_buffers[i].bump_version();
    }
    EMBER_KERNEL(op, device_of(key), sgd_step, std::get<2>(key), tensors, hyper);
  }
}

void unscale_and_check_finite_(const std::vector<Tensor>& grads, double inv_scale, const Tensor& found_inf) {
  const char* op = "unscale_and_check_finite_";
  detail::check_defined(op, found_inf);
  EMBER_CHECK(found_inf.dtype() == DType::f32 && found_inf.numel() == 1 && found_inf.is_contiguous(), op,
              ": found_inf must be one f32 element, got ", describe(found_inf));
  for (const Tensor& grad : grads) {
    detail::check_defined(op, grad);
    EMBER_CHECK(grad.is_contiguous(), op, ": gradient ", describe(grad), " must be contiguous");
    EMBER_CHECK(grad.dtype() == DType::f32 || grad.dtype() == DType::f64, op,
                ": gradients must be f32 or f64 (the master weights' dtype), got ", describe(grad));
    EMBER_CHECK(grad.device() == found_inf.device(), op, ": gradient ", describe(grad),
                " is not on found_inf's device ", found_inf.device());
  }
  found_inf.bump_version();
  for (const auto& [key, indices] : group_by_device_and_dtype(grads)) {
    std::vector<kernels::UnscaleTensor> tensors;
    for (const std::size_t i : indices) {
      tensors.push_back({grads[i].data_ptr(), grads[i].numel()});
      grads[i].bump_version();
    }
    EMBER_KERNEL(op, device_of(key), unscale_and_check_finite, std::get<2>(key), tensors, inv_scale,
                 static_cast<float*>(found_inf.data_ptr()));
  }
}

}  // namespace ember
