// Tensor basics: factories, metadata, element access, conversions, printing.
#include <sstream>

#include "helpers.h"

using namespace ember;
using namespace ember::testing;

TEST_CASE("factories fill the values they promise") {
  const Tensor z = zeros({2, 3});
  CHECK(z.sizes() == Shape{2, 3});
  CHECK(z.strides() == Shape{3, 1});  // row-major
  CHECK(z.dtype() == DType::f32);
  check_values(z, {0, 0, 0, 0, 0, 0});
  check_values(ones({2}, {.dtype = DType::f64}), {1, 1});
  check_values(full({3}, 2.5), {2.5, 2.5, 2.5});
  check_values(arange(5), {0, 1, 2, 3, 4});
  CHECK(arange(5).dtype() == DType::i64);
  check_values(arange(1, 2, 0.25, {.dtype = DType::f64}), {1, 1.25, 1.5, 1.75});
  CHECK(scalar_tensor(3).dim() == 0);
  CHECK(scalar_tensor(3).item<double>() == 3);
}

TEST_CASE("from_vector and from_blob") {
  const Tensor t = from_vector<float>({1, 2, 3, 4, 5, 6}, {2, 3});
  CHECK(t.at<float>({1, 2}) == 6);
  CHECK(t.at<double>({0, 1}) == 2);
  float buffer[4] = {1, 2, 3, 4};
  bool released = false;
  {
    Tensor borrowed = from_blob(buffer, {2, 2}, DType::f32, Device::cpu(), [&](void*) { released = true; });
    borrowed.mul_(2.0);  // writes through to the caller's memory
    CHECK(buffer[3] == 8);
  }
  CHECK(released);
  CHECK(contains(error_of([] { from_vector<float>({1, 2, 3}, {2, 2}); }), "3 values cannot fill shape [2, 2]"));
}

TEST_CASE("copies share or own memory as documented") {
  Tensor a = from_vector<float>({1, 2, 3});
  Tensor alias = a;  // a handle copy shares data
  Tensor copy = a.clone();
  a.fill_(7);
  CHECK(alias.at<float>({0}) == 7);
  CHECK(copy.at<float>({0}) == 1);
}

TEST_CASE("dtype conversion rounds and saturates like static_cast through the compute type") {
  const Tensor x = from_vector<double>({1.5, -2.25, 3.0});
  check_values(x.to(DType::f32), {1.5, -2.25, 3.0});
  check_values(x.to(DType::i64), {1, -2, 3});  // truncation toward zero
  check_values(x.to(DType::b8), {1, 1, 1});
  check_values(x.to(DType::f16), {1.5, -2.25, 3.0});  // exactly representable
  // 1/3 in bf16 has 8 significant bits: 0.333984375.
  CHECK(from_vector<double>({1.0 / 3}).to(DType::bf16).item<double>() == 0.333984375);
  CHECK(x.to(DType::f64).is_same(x));  // no-op conversion returns the same tensor
}

TEST_CASE("item and at reject what they cannot do") {
  CHECK(contains(error_of([] { zeros({2}).item<float>(); }), "2 elements"));
  CHECK(contains(error_of([] { zeros({2, 2}).at<float>({1}); }), "1 indices for a tensor of shape [2, 2]"));
  CHECK(contains(error_of([] { zeros({2}).data<double>(); }), "is not of dtype f64"));
}

TEST_CASE("printing follows PyTorch's repr") {
  std::ostringstream out;
  out << from_vector<float>({1, 2, 3, 4}, {2, 2});
  CHECK(out.str() == "tensor([[1., 2.],\n        [3., 4.]])");
  std::ostringstream f;
  f << from_vector<double>({0.5, 1.25});
  CHECK(f.str() == "tensor([0.5000, 1.2500], dtype=f64)");
  std::ostringstream g;
  g << zeros({2}).set_requires_grad(true);
  CHECK(g.str() == "tensor([0., 0.], requires_grad=True)");
  std::ostringstream b;
  b << gt(from_vector<float>({1, -1}), 0.0);
  CHECK(b.str() == "tensor([True, False])");
}

TEST_CASE("a CUDA tensor without a usable GPU is a clear error and devices parse") {
  if (!cuda::is_available()) {
    const std::string why = cuda::is_built() ? "no CUDA device is available" : "no CUDA kernels";
    CHECK(contains(error_of([] { zeros({2}, {.device = Device::cuda()}); }), why));
    CHECK(contains(error_of([] { zeros({2}).to(Device::cuda()); }), "to: "));
  }
  CHECK(Device::parse("cuda:1") == Device::cuda(1));
  CHECK(contains(error_of([] { Device::parse("tpu"); }), "cannot parse 'tpu'"));
}
