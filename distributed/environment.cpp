#include "distributed/environment.h"

#include <cstdlib>

#include "core/error.h"

namespace ember::distributed {

namespace {

const char* variable(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr && value[0] != '\0' ? value : nullptr;
}

int integer_variable(const char* name, int fallback) {
  const char* text = variable(name);
  if (text == nullptr) return fallback;
  char* end = nullptr;
  const long value = std::strtol(text, &end, 10);
  EMBER_CHECK(end != text && *end == '\0' && value >= 0 && value < (1L << 30), "distributed: environment variable ",
              name, "='", text, "' is not a non-negative integer");
  return static_cast<int>(value);
}

}  // namespace

WorldInfo read_world_from_environment() {
  WorldInfo world;
  world.launched = variable("RANK") != nullptr || variable("WORLD_SIZE") != nullptr;
  if (!world.launched) return world;
  EMBER_CHECK(variable("RANK") != nullptr && variable("WORLD_SIZE") != nullptr,
              "distributed: set both RANK and WORLD_SIZE (a launcher such as ember-run sets them), got only ",
              variable("RANK") != nullptr ? "RANK" : "WORLD_SIZE");
  world.rank = integer_variable("RANK", 0);
  world.world_size = integer_variable("WORLD_SIZE", 1);
  world.local_rank = integer_variable("LOCAL_RANK", world.rank);
  world.local_world_size = integer_variable("LOCAL_WORLD_SIZE", world.world_size);
  EMBER_CHECK(world.world_size >= 1 && world.rank < world.world_size, "distributed: RANK=", world.rank,
              " must be below WORLD_SIZE=", world.world_size);
  EMBER_CHECK(world.local_world_size >= 1 && world.local_rank < world.local_world_size &&
                  world.world_size % world.local_world_size == 0,
              "distributed: LOCAL_RANK=", world.local_rank, ", LOCAL_WORLD_SIZE=", world.local_world_size,
              " and WORLD_SIZE=", world.world_size, " do not fit together (equal processes per machine)");
  if (const char* store = variable("EMBER_STORE")) world.store_url = store;
  EMBER_CHECK(world.world_size == 1 || !world.store_url.empty(), "distributed: WORLD_SIZE=", world.world_size,
              " but EMBER_STORE is not set; set it to file:///shared/directory or redis://host:port");
  return world;
}

}  // namespace ember::distributed
