#include "distributed/environment.h"

#include <cstdlib>

#include "core/error.h"

namespace ember::distributed {

namespace {

using Lookup = std::function<const char*(const char*)>;

// The variable's value; null when it is unset or empty.
const char* variable(const Lookup& lookup, const char* name) {
  const char* value = lookup(name);
  return value != nullptr && value[0] != '\0' ? value : nullptr;
}

int integer_variable(const Lookup& lookup, const char* name, int fallback) {
  const char* text = variable(lookup, name);
  if (text == nullptr) return fallback;
  char* end = nullptr;
  const long value = std::strtol(text, &end, 10);
  EMBER_CHECK(end != text && *end == '\0' && value >= 0 && value < (1L << 30), "distributed: environment variable ",
              name, "='", text, "' is not a non-negative integer");
  return static_cast<int>(value);
}

}  // namespace

WorldInfo read_world_from_environment() { return read_world([](const char* name) { return std::getenv(name); }); }

WorldInfo read_world(const Lookup& lookup) {
  WorldInfo world;
  const char* rank = variable(lookup, "RANK");
  const char* size = variable(lookup, "WORLD_SIZE");
  world.launched = rank != nullptr || size != nullptr;
  if (!world.launched) return world;
  EMBER_CHECK(rank != nullptr && size != nullptr,
              "distributed: set both RANK and WORLD_SIZE (a launcher such as ember-run sets them), got only ",
              rank != nullptr ? "RANK" : "WORLD_SIZE");
  world.rank = integer_variable(lookup, "RANK", 0);
  world.world_size = integer_variable(lookup, "WORLD_SIZE", 1);
  world.local_rank = integer_variable(lookup, "LOCAL_RANK", world.rank);
  world.local_world_size = integer_variable(lookup, "LOCAL_WORLD_SIZE", world.world_size);
  EMBER_CHECK(world.world_size >= 1 && world.rank < world.world_size, "distributed: RANK=", world.rank,
              " must be below WORLD_SIZE=", world.world_size);
  EMBER_CHECK(world.local_world_size >= 1 && world.local_rank < world.local_world_size &&
                  world.world_size % world.local_world_size == 0,
              "distributed: LOCAL_RANK=", world.local_rank, ", LOCAL_WORLD_SIZE=", world.local_world_size,
              " and WORLD_SIZE=", world.world_size, " do not fit together (equal processes per machine)");
  if (const char* store = variable(lookup, "EMBER_STORE")) world.store_url = store;
  EMBER_CHECK(world.world_size == 1 || !world.store_url.empty(), "distributed: WORLD_SIZE=", world.world_size,
              " but EMBER_STORE is not set; set it to file:///shared/directory or redis://host:port");
  if (const char* run_id = variable(lookup, "EMBER_RUN_ID")) world.run_id = run_id;
  EMBER_CHECK(world.world_size == 1 || !world.run_id.empty(), "distributed: WORLD_SIZE=", world.world_size,
              " but EMBER_RUN_ID is not set; set it to a name unique to this run (ember-run sets one; under Slurm "
              "use $SLURM_JOB_ID), so that keys an earlier run left in the store ", world.store_url,
              " are never read as this run's");
  return world;
}

}  // namespace ember::distributed
