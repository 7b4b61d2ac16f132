#pragma once
// map(): the one strided loop behind every elementwise CPU kernel.
//
// Dims are coalesced first (kernels/coalesce.h), so a contiguous or simply broadcast tensor
// becomes one long run. Runs whose operands all have unit stride take a plain pointer loop the
// compiler vectorizes; the rest walk their strides.
#include <algorithm>
#include <array>
#include <cstdint>
#include <tuple>
#include <utility>

#include "kernels/coalesce.h"
#include "kernels/operand.h"
#include "kernels/cpu/parallel.h"

namespace ember::kernels::cpu {

// Applies out = f(in...) element by element. Out and In... are the element types, given
// explicitly: map<float, float, float>(sizes, f, out, a, b).
template <class Out, class... In, class F, class... Operands>
void map(const Sizes& sizes, F&& f, const Operand& out, const Operands&... in) {
  static_assert(sizeof...(In) == sizeof...(Operands), "one element type per input operand");
  constexpr std::size_t N = 1 + sizeof...(In);
  const CoalescedLoop<N> loop = coalesce<N>(sizes, {&out.strides, &in.strides...});
  const std::array<char*, N> base{static_cast<char*>(out.data), static_cast<char*>(in.data)...};
  constexpr std::array<std::int64_t, N> element_size{sizeof(Out), sizeof(In)...};

  const std::size_t ndim = loop.sizes.size();
  const std::int64_t inner = loop.sizes.back();
  std::array<std::int64_t, N> inner_stride;  // bytes
  for (std::size_t k = 0; k < N; ++k) inner_stride[k] = loop.strides[k].back() * element_size[k];

  // Inputs broadcast along the run (stride 0: a bias over a row, a scalar) are read from a copy
  // of their one value repeated kChunk times, so that the run still takes the unit-stride loop.
  constexpr std::int64_t kChunk = 256;
  bool unit_or_broadcast = inner_stride[0] == element_size[0];
  for (std::size_t k = 1; k < N; ++k) {
    unit_or_broadcast = unit_or_broadcast && (inner_stride[k] == element_size[k] || inner_stride[k] == 0);
  }

  // Runs `count` elements of the innermost dim starting at the byte pointers `p`.
  auto run = [&](std::array<char*, N> p, std::int64_t count) {
    auto element = [&]<std::size_t... K>(std::index_sequence<K...>, auto at) {
      Out* o = reinterpret_cast<Out*>(p[0] + at * inner_stride[0]);
      *o = f(*reinterpret_cast<const In*>(p[K + 1] + at * inner_stride[K + 1])...);
    };
    if (!unit_or_broadcast) {
      for (std::int64_t i = 0; i < count; ++i) element(std::index_sequence_for<In...>{}, i);
      return;
    }
    auto unit_loop = [&]<std::size_t... K>(std::index_sequence<K...>) {
      std::tuple<std::array<In, kChunk>...> repeated;  // filled only for the broadcast inputs
      std::tuple<const In*...> ins{reinterpret_cast<const In*>(p[K + 1])...};
      const bool any_broadcast = ((inner_stride[K + 1] == 0) || ...);
      (
          [&] {
            if (inner_stride[K + 1] == 0) {
              std::fill_n(std::get<K>(repeated).data(), std::min(count, kChunk), *std::get<K>(ins));
              std::get<K>(ins) = std::get<K>(repeated).data();
            }
          }(),
          ...);
      Out* o = reinterpret_cast<Out*>(p[0]);
      const std::int64_t step = any_broadcast ? kChunk : count;
      for (std::int64_t start = 0; start < count; start += step) {
        const std::int64_t n = std::min(step, count - start);
        // Unit-stride inputs advance with the chunk; the repeated ones are read from the start.
        const std::tuple<const In*...> at{(std::get<K>(ins) + (inner_stride[K + 1] == 0 ? 0 : start))...};
        for (std::int64_t i = 0; i < n; ++i) o[start + i] = f(std::get<K>(at)[i]...);
      }
    };
    unit_loop(std::index_sequence_for<In...>{});
  };

  if (ndim == 1) {  // one run: split it across threads
    parallel_for(inner, 1, [&](std::int64_t begin, std::int64_t end) {
      std::array<char*, N> p;
      for (std::size_t k = 0; k < N; ++k) p[k] = base[k] + begin * inner_stride[k];
      run(p, end - begin);
    });
    return;
  }
  std::int64_t rows = 1;
  for (std::size_t d = 0; d + 1 < ndim; ++d) rows *= loop.sizes[d];
  parallel_for(rows, inner, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t row = begin; row < end; ++row) {
      std::array<char*, N> p = base;
      std::int64_t rest = row;
      for (std::size_t d = ndim - 1; d-- > 0;) {  // row -> index of each outer dim
        const std::int64_t index = rest % loop.sizes[d];
        rest /= loop.sizes[d];
        for (std::size_t k = 0; k < N; ++k) p[k] += index * loop.strides[k][d] * element_size[k];
      }
      run(p, inner);
    }
  });
}

}  // namespace ember::kernels::cpu
