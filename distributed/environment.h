#pragma once
// Where this process sits in a distributed run, as the launcher (ember-run, torchrun, Slurm or
// mpirun with the same variables exported) describes it in the environment:
//   RANK, WORLD_SIZE          this process's rank and the number of processes in the run
//   LOCAL_RANK, LOCAL_WORLD_SIZE   the same on this machine (picks the GPU: cuda:LOCAL_RANK)
//   EMBER_STORE               the rendezvous store URL (distributed/store.h)
//   EMBER_RUN_ID              a name unique to this run (ember-run makes one per launch; under
//                             Slurm, $SLURM_JOB_ID): every key the run puts in the store starts
//                             with it, so keys an earlier run left there are never read as this one's
#include <functional>
#include <string>

namespace ember::distributed {

struct WorldInfo {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  int local_world_size = 1;
  std::string store_url;  // empty when not launched
  std::string run_id;     // required with more than one process
  // Whether a launcher set the variables; without one, a run is a single process.
  bool launched = false;

  int num_nodes() const { return world_size / local_world_size; }
};

// Reads the variables above. None set: one process (launched = false). Some set but not all,
// or inconsistent values: an ember::Error naming the variable.
WorldInfo read_world_from_environment();
// The same rules over any source of variables: `lookup(name)` returns the value, or null when
// the variable is not set (what the environment reader passes is std::getenv).
WorldInfo read_world(const std::function<const char*(const char*)>& lookup);

}  // namespace ember::distributed
