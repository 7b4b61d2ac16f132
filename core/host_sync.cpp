#include "core/host_sync.h"

namespace ember {

namespace {
thread_local std::int64_t host_syncs = 0;
}  // namespace

std::int64_t host_sync_count() { return host_syncs; }

void detail::count_host_sync() { ++host_syncs; }

}  // namespace ember
