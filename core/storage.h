#pragma once
// Storage: one block of memory that tensors (and their views) share.
#include <cstddef>
#include <functional>
#include <memory>

#include "core/device.h"

namespace ember {

class Storage {
 public:
  // Fresh memory on `device` (on the host from core/host_allocator.h).
  static std::shared_ptr<Storage> allocate(std::size_t nbytes, Device device);
  // Wraps memory someone else owns; `release` (may be empty) runs when the last tensor lets go.
  static std::shared_ptr<Storage> borrow(void* data, std::size_t nbytes, Device device,
                                         std::function<void(void*)> release = {});

  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  ~Storage();

  void* data() const { return data_; }
  std::size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }

 private:
  Storage(void* data, std::size_t nbytes, Device device, std::function<void(void*)> release)
      : data_(data), nbytes_(nbytes), device_(device), release_(std::move(release)) {}

  void* data_;
  std::size_t nbytes_;
  Device device_;
  std::function<void(void*)> release_;
};

}  // namespace ember
