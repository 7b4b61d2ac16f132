#include "data/pin_memory.h"

#include <mutex>

#include "core/cuda.h"
#include "core/ops/copy.h"

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
  if (hook_slot() || !cuda::is_available()) return hook_slot();
  // The default with a GPU: every tensor of the batch copied into page-locked memory.
  return [](Batch batch) {
    for (Tensor& tensor : batch) tensor = pin_memory(tensor);
    return batch;
  };
}

}  // namespace ember::data
