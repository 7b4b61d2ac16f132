#include "data/pin_memory.h"

#include <mutex>

namespace ember::data {

namespace {

std::mutex hook_mutex;
PinMemoryFn& hook_slot() {
  static PinMemoryFn hook;
  return hook;
}

}  // namespace

void set_pin_memory_hook(PinMemoryFn hook) {
  std::lock_guard lock(hook_mutex);
  hook_slot() = std::move(hook);
}

PinMemoryFn pin_memory_hook() {
  std::lock_guard lock(hook_mutex);
  return hook_slot();
}

}  // namespace ember::data
