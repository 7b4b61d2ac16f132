#include "distributed/init.h"

#include <optional>

#include "distributed/environment.h"
#include "distributed/temporary_directory.h"
#if EMBER_GLOO
#include "distributed/gloo_process_group.h"
#endif

namespace ember::distributed {

std::shared_ptr<ProcessGroup> init_process_group(const InitOptions& options) {
  [[maybe_unused]] const WorldInfo world = read_world_from_environment();
  EMBER_CHECK(options.backend == "gloo" || options.backend == "nccl", "init_process_group: unknown backend '",
              options.backend, "' (expected \"gloo\" or \"nccl\")");
  EMBER_CHECK(options.backend == "gloo", "init_process_group: the nccl backend (CUDA tensors) is not part of ember "
              "yet; data-parallel training runs on CPU tensors with the gloo backend");
#if !EMBER_GLOO
  fail("init_process_group: this ember was built without Gloo (-DEMBER_GLOO=OFF); install libgloo-dev and "
       "configure with -DEMBER_GLOO=ON");
#else
  // A group of one still needs a store to build its Gloo context: a private directory.
  std::optional<TemporaryDirectory> scratch;
  std::string url = world.store_url;
  if (url.empty()) url = scratch.emplace("ember-store").url();
  const std::shared_ptr<Store> store = Store::open(url, options.timeout);
  return std::make_shared<GlooProcessGroup>(store, world.rank, world.world_size, options.timeout);
#endif
}

}  // namespace ember::distributed
