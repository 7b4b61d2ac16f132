#pragma once
// The backward engine: runs the recorded graph in reverse topological order.
#include <vector>

#include "core/tensor.h"

namespace ember {

// Propagates `grads` (one per root; undefined means "ones", allowed for one-element roots)
// back from `roots` into the .grad of every leaf that requires grad. Frees the graph's saved
// tensors as it goes unless `retain_graph`.
void run_backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& grads, bool retain_graph);

}  // namespace ember
