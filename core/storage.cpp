#include "core/storage.h"

#include "core/cuda.h"
#include "core/error.h"
#include "core/host_allocator.h"

namespace ember {

std::shared_ptr<Storage> Storage::allocate(std::size_t nbytes, Device device) {
  if (device.is_cuda()) {
    cuda::check_device("Storage::allocate", device);
    void* data = cuda::allocate(nbytes, device.index);  // from the caching allocator
    return std::shared_ptr<Storage>(new Storage(data, nbytes, device, [](void* p) { cuda::release(p); }));
  }
  void* data = host_allocate(nbytes);  // never 0 bytes, so data() is never null
  EMBER_CHECK(data != nullptr, "Storage::allocate: out of host memory asking for ", nbytes, " bytes");
  return std::shared_ptr<Storage>(new Storage(data, nbytes, device, [nbytes](void* p) { host_release(p, nbytes); }));
}

std::shared_ptr<Storage> Storage::borrow(void* data, std::size_t nbytes, Device device,
                                         std::function<void(void*)> release) {
  return std::shared_ptr<Storage>(new Storage(data, nbytes, device, std::move(release)));
}

Storage::~Storage() {
  if (release_) release_(data_);
}

}  // namespace ember
