#pragma once
// A full disk in a test, without a small file system to mount.
#include <signal.h>
#include <sys/resource.h>

#include <cstdint>

#include "trainer/callback.h"
#include "trainer/trainer.h"

namespace ember::testing {

// While one exists, no file this process writes can grow past `bytes`: RLIMIT_FSIZE makes write()
// fail with EFBIG (once SIGXFSZ is ignored) where a full disk fails with ENOSPC, the same path
// through the writer, with no small file system to mount. lift() gives the room back.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    ::getrlimit(RLIMIT_FSIZE, &before_);
    ::sigaction(SIGXFSZ, nullptr, &handler_before_);
    struct sigaction ignore = {};
    ignore.sa_handler = SIG_IGN;
    ::sigaction(SIGXFSZ, &ignore, nullptr);
    const rlimit limited{bytes, before_.rlim_max};  // the soft limit only, so that lift() can raise it
    ::setrlimit(RLIMIT_FSIZE, &limited);
  }
  ~FileSizeLimit() {
    lift();
    ::sigaction(SIGXFSZ, &handler_before_, nullptr);
  }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;
  void lift() { ::setrlimit(RLIMIT_FSIZE, &before_); }

 private:
  rlimit before_{};
  struct sigaction handler_before_ = {};
};

// Far smaller than a checkpoint (its header alone is larger): every save fails while it holds.
constexpr rlim_t kFullDiskBytes = 256;

// Frees the disk after optimizer step `step` (listed before ModelCheckpoint, it runs first);
// with no limit (a rank whose disk is not full) it does nothing.
class RoomAfter : public trainer::Callback {
 public:
  RoomAfter(FileSizeLimit* limit, std::int64_t step) : limit_(limit), step_(step) {}
  void on_train_batch_end(trainer::Trainer& trainer, trainer::TrainModule&, std::int64_t, std::int64_t,
                          const Tensor&) override {
    if (limit_ != nullptr && trainer.global_step() == step_) limit_->lift();
  }

 private:
  FileSizeLimit* limit_;
  std::int64_t step_;
};

}  // namespace ember::testing
