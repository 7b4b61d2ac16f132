#pragma once
// init_process_group: joins the run the environment describes (distributed/environment.h).
#include <chrono>
#include <memory>
#include <string>

#include "distributed/process_group.h"

namespace ember::distributed {

struct InitOptions {
  // "gloo" (CPU tensors) or "nccl" (CUDA tensors on cuda:LOCAL_RANK; needs a CUDA build).
  std::string backend = "gloo";
  // How long rendezvous and each collective wait for the other ranks (PyTorch's default too).
  std::chrono::milliseconds timeout = std::chrono::minutes(5);
};

// The process group of every rank of the run. A run not launched as one (no RANK/WORLD_SIZE)
// gets a group of one, which needs no store. Each call makes a new group, whose keys the store
// keeps apart from the earlier groups': every rank must make its groups in the same order.
std::shared_ptr<ProcessGroup> init_process_group(const InitOptions& options = {});

}  // namespace ember::distributed
