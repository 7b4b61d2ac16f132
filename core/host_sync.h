#pragma once
// Counting the host's waits for a device.
//
// On a GPU, work is queued and the host runs ahead; whenever it needs a result (item(),
// to_vector(), a copy into pageable host memory, synchronize()) it stops until the device has
// caught up. A training step that does this every step leaves the GPU idle between steps, so
// ember counts these waits, per thread, in the one place each happens, and a test asserts that a
// training step makes none.
//
// Reading a CPU tensor's values (item(), to_vector()) counts too: on the CPU it needs no wait,
// but the same code on a GPU tensor would wait, so a test on a machine without a GPU still
// proves that a training step reads nothing back.
#include <cstdint>

namespace ember {

// How many times the calling thread has waited for a device or read a tensor's values.
std::int64_t host_sync_count();

namespace detail {
// Called by the device layer at each wait, and by to_vector() for a CPU tensor.
void count_host_sync();
}  // namespace detail

}  // namespace ember
