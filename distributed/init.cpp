#include "distributed/init.h"

#include <atomic>
#include <optional>

#include "distributed/environment.h"
#include "distributed/temporary_directory.h"
#if EMBER_GLOO
#include "distributed/gloo_process_group.h"
#endif
#if EMBER_NCCL
#include "distributed/nccl_process_group.h"
#endif

namespace ember::distributed {

std::shared_ptr<ProcessGroup> init_process_group(const InitOptions& options) {
  [[maybe_unused]] const WorldInfo world = read_world_from_environment();
  EMBER_CHECK(options.backend == "gloo" || options.backend == "nccl", "init_process_group: unknown backend '",
              options.backend, "' (expected \"gloo\" or \"nccl\")");
#if !EMBER_GLOO
  fail("init_process_group: this ember was built without Gloo (-DEMBER_GLOO=OFF), which both backends need for "
       "the rendezvous store; install libgloo-dev and configure with -DEMBER_GLOO=ON");
#else
  // A group of one still needs a store to meet in: a private directory.
  std::optional<TemporaryDirectory> scratch;
  std::string url = world.store_url;
  if (url.empty()) url = scratch.emplace("ember-store").url();
  // Each group a process makes keeps its keys apart from the earlier ones' (a second Trainer
  // makes a second group); every rank makes its groups in the same order, so the names agree.
  // The run's id keeps them apart from keys an earlier run left in the same store.
  static std::atomic<int> groups_made{0};
  const std::string run = world.run_id.empty() ? "" : world.run_id + ".";
  const std::string key_prefix = run + "group" + std::to_string(groups_made++) + ".";
  const std::shared_ptr<Store> store = Store::open(url, options.timeout, key_prefix);
  if (options.backend == "gloo") {
    return std::make_shared<GlooProcessGroup>(store, world.rank, world.world_size, options.timeout);
  }
#if EMBER_NCCL
  // One GPU per process on each machine, as torchrun does it: cuda:LOCAL_RANK.
  return std::make_shared<NcclProcessGroup>(store, world.rank, world.world_size, world.local_rank, options.timeout);
#else
  fail("init_process_group: this ember was built without NCCL (it needs EMBER_CUDA and nccl.h / libnccl from the "
       "CUDA toolkit), so the nccl backend is not available; use \"gloo\" with CPU tensors");
#endif
#endif
}

}  // namespace ember::distributed
