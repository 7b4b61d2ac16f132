// The count of host waits (core/host_sync.h): what counts and what does not.
#include <thread>

#include "core/host_sync.h"
#include "helpers.h"

using namespace ember;
using namespace ember::testing;

TEST_CASE("reading a tensor's values counts one host sync; ops, views and copies on the device count none") {
  const Tensor x = randn({4, 3});
  const std::int64_t before = host_sync_count();
  // Work a GPU would queue without waiting: ops, reductions, views, a clone, a dtype change.
  const Tensor y = sum(relu(x * 2.0 + 1.0).t().contiguous().to(DType::f64));
  CHECK(host_sync_count() == before);
  // Each read of values is one wait on a GPU, and one count here.
  (void)y.item<double>();
  CHECK(host_sync_count() == before + 1);
  (void)x.to_vector<float>();
  CHECK(host_sync_count() == before + 2);
  (void)x.at<float>({1, 2});
  CHECK(host_sync_count() == before + 3);
}

TEST_CASE("the count is per thread") {
  const std::int64_t mine = host_sync_count();
  std::thread other([] { (void)ones({1}).item<double>(); });
  other.join();
  CHECK(host_sync_count() == mine);
}
