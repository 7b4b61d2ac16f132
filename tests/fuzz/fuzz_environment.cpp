// libFuzzer harness: any text as the launcher's environment. Its lines are the values of RANK,
// WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE and EMBER_STORE (fewer lines: the rest unset); the world
// is read from them and the store URL parsed (not opened: a fuzzer must not connect anywhere).
#include <array>
#include <string>

#include "core/error.h"
#include "distributed/environment.h"
#include "distributed/store.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::array<const char*, 5> names = {"RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "EMBER_STORE"};
  std::array<std::string, 5> values;
  std::array<bool, 5> set{};
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::size_t begin = 0;
  for (std::size_t i = 0; i < names.size() && begin <= text.size(); ++i) {
    const std::size_t end = std::min(text.find('\n', begin), text.size());
    values[i] = text.substr(begin, end - begin);
    set[i] = true;
    begin = end + 1;
  }
  const auto lookup = [&](const char* name) -> const char* {
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (std::string(name) == names[i]) return set[i] ? values[i].c_str() : nullptr;
    }
    return nullptr;
  };
  try {
    const ember::distributed::WorldInfo world = ember::distributed::read_world(lookup);
    if (world.launched && !(world.rank < world.world_size && world.local_rank < world.local_world_size)) __builtin_trap();
    if (!world.store_url.empty()) (void)ember::distributed::parse_store_url(world.store_url);
  } catch (const ember::Error&) {
  }
  return 0;
}
