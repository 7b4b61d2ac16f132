#pragma once
// The backward engine: runs the recorded graph in reverse topological order.
#include <functional>
#include <vector>

#include "core/tensor.h"

namespace ember {

// Propagates `grads` (one per root; undefined means "ones", allowed for one-element roots)
// back from `roots` into the .grad of every leaf that requires grad. Frees the graph's saved
// tensors as it goes unless `retain_graph`.
void run_backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& grads, bool retain_graph);

// Queues `callback` to run once the backward pass running on this thread has finished with the
// graph, before backward() returns (PyTorch's queue_callback). Only valid inside a backward
// pass, i.e. from a hook or a node; DDP waits for its last gradient all-reduces this way.
void queue_backward_callback(std::function<void()> callback);

}  // namespace ember
