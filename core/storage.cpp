#include "core/storage.h"

#include <cstdlib>
#include <new>

#include "core/error.h"

namespace ember {

namespace {
constexpr std::size_t kHostAlignment = 64;
}

std::shared_ptr<Storage> Storage::allocate(std::size_t nbytes, Device device) {
  if (device.is_cuda()) cuda_unavailable("Storage::allocate");
  // aligned_alloc wants a multiple of the alignment; never ask for 0 bytes so data() is non-null.
  const std::size_t rounded = (nbytes + kHostAlignment - 1) / kHostAlignment * kHostAlignment;
  void* data = std::aligned_alloc(kHostAlignment, rounded == 0 ? kHostAlignment : rounded);
  EMBER_CHECK(data != nullptr, "Storage::allocate: out of host memory asking for ", nbytes, " bytes");
  return std::shared_ptr<Storage>(new Storage(data, nbytes, device, [](void* p) { std::free(p); }));
}

std::shared_ptr<Storage> Storage::borrow(void* data, std::size_t nbytes, Device device,
                                         std::function<void(void*)> release) {
  return std::shared_ptr<Storage>(new Storage(data, nbytes, device, std::move(release)));
}

Storage::~Storage() {
  if (release_) release_(data_);
}

}  // namespace ember
