// Errors of the elementwise family name the op, the shapes, dtypes and devices.
#include "helpers.h"

using namespace ember;
using namespace ember::testing;

TEST_CASE("shape mismatch names both shapes") {
  CHECK(error_of([] { add(zeros({2, 3}), zeros({4})); }) == "add: shapes [2, 3] and [4] cannot be broadcast together");
  CHECK(contains(error_of([] { where(zeros({2}, {.dtype = DType::b8}), zeros({3}), zeros({3})); }),
                 "where: shapes [2] and [3]"));
}

TEST_CASE("dtype mismatch names both tensors") {
  CHECK(contains(error_of([] { mul(zeros({2}), zeros({2}, {.dtype = DType::f64})); }),
                 "mul: dtypes do not match: [2] f32 cpu and [2] f64 cpu"));
  CHECK(contains(error_of([] { exp(zeros({2}, {.dtype = DType::i64})); }), "expected a floating dtype"));
  CHECK(contains(error_of([] { where(zeros({2}), zeros({2}), zeros({2})); }), "where: condition must be a bool tensor"));
  CHECK(contains(error_of([] { div(ones({2}, {.dtype = DType::i32}), zeros({2}, {.dtype = DType::i32})); }),
                 "integer division by zero"));
}

TEST_CASE("device mismatch and the CUDA slot") {
  float host[2] = {1, 2};
  // A tensor that claims to live on the GPU (memory is never touched: every op stops first).
  const Tensor on_gpu = from_blob(host, {2}, DType::f32, Device::cuda(0));
  CHECK(error_of([&] { add(zeros({2}), on_gpu); }) ==
        "add: expected all tensors on one device, got [2] f32 cpu and [2] f32 cuda:0");
  if (cuda::is_available()) return;  // the rest is about machines where a CUDA tensor cannot run
  // A build with CUDA on a machine without a GPU, or a build without CUDA: either way the op
  // stops before touching memory and says why.
  const std::string why = cuda::is_built() ? "but no CUDA device is available" : "tensor is on a CUDA device";
  CHECK(contains(error_of([&] { add(on_gpu, on_gpu); }), "add: "));
  CHECK(contains(error_of([&] { add(on_gpu, on_gpu); }), why));
  CHECK(contains(error_of([&] { relu(on_gpu); }), "relu: "));
  CHECK(contains(error_of([&] { on_gpu.to_vector<float>(); }), why));
}
