#pragma once
// The pin_memory hook: with DataLoaderOptions::pin_memory, workers pass every collated batch
// through this function, which copies it into page-locked host memory so that host-to-device
// copies can run asynchronously. With no hook registered it is core's pin_memory on every tensor
// when a CUDA device is available; without one, pin_memory leaves batches as they are (as
// PyTorch does when no accelerator is present: pinned memory only speeds up device copies).
// Registering a hook replaces the default (a custom batch type, a test).
#include <functional>

#include "data/collate.h"

namespace ember::data {

using PinMemoryFn = std::function<Batch(Batch)>;

// Replaces the hook (nullptr removes it). Loaders take the hook in force when a pass begins.
void set_pin_memory_hook(PinMemoryFn hook);
PinMemoryFn pin_memory_hook();

}  // namespace ember::data
