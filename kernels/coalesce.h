#pragma once
// coalesce(): merges the dims that are laid out back to back in every operand of an
// elementwise loop, so a contiguous or simply broadcast tensor becomes one long run. Shared by
// the CPU loops and the CUDA launcher.
#include <array>
#include <cstddef>

#include "kernels/operand.h"

namespace ember::kernels {

template <std::size_t N>
struct CoalescedLoop {
  Sizes sizes;                                 // outermost first
  std::array<Sizes, N> strides;                // in elements, per operand
};

template <std::size_t N>
CoalescedLoop<N> coalesce(const Sizes& sizes, const std::array<const Sizes*, N>& strides) {
  CoalescedLoop<N> loop;
  for (std::size_t d = 0; d < sizes.size(); ++d) {
    if (sizes[d] == 1) continue;  // a size-1 dim never moves the pointers
    bool mergeable = !loop.sizes.empty();
    for (std::size_t k = 0; k < N && mergeable; ++k) {
      mergeable = loop.strides[k].back() == (*strides[k])[d] * sizes[d];
    }
    if (mergeable) {
      loop.sizes.back() *= sizes[d];
      for (std::size_t k = 0; k < N; ++k) loop.strides[k].back() = (*strides[k])[d];
    } else {
      loop.sizes.push_back(sizes[d]);
      for (std::size_t k = 0; k < N; ++k) loop.strides[k].push_back((*strides[k])[d]);
    }
  }
  if (loop.sizes.empty()) {  // a single element
    loop.sizes.push_back(1);
    for (std::size_t k = 0; k < N; ++k) loop.strides[k].push_back(0);
  }
  return loop;
}

}  // namespace ember::kernels
