#include "kernels/index.h"

#include <cstring>
#include <vector>

#include "kernels/cpu/parallel.h"
#include "kernels/dtype.h"

namespace ember::kernels::cpu {

// Each parallel loop below runs over `outer`: different o never touch the same output, so the
// accumulating kernels need no atomics and add in a fixed order (deterministic results).

void index_select(DType dtype, std::int64_t outer, std::int64_t in_n, std::int64_t inner, const void* in,
                  const std::int64_t* index, std::int64_t count, void* out) {
  const std::size_t row_bytes = static_cast<std::size_t>(inner) * size_of(dtype);
  const char* src = static_cast<const char*>(in);
  char* dst = static_cast<char*>(out);
  parallel_for(outer * count, inner, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t flat = begin; flat < end; ++flat) {
      const std::int64_t o = flat / count, i = flat % count;
      std::memcpy(dst + flat * row_bytes, src + (o * in_n + index[i]) * row_bytes, row_bytes);
    }
  });
}

void index_add(DType dtype, std::int64_t outer, std::int64_t out_n, std::int64_t inner, void* out,
               const std::int64_t* index, std::int64_t count, const void* src) {
  dispatch_all(dtype, "index_add", [&]<class T>() {
    using C = compute_t<T>;
    T* o_data = static_cast<T*>(out);
    const T* s_data = static_cast<const T*>(src);
    // Adds o's sources into `totals`, its [out_n, inner] block (of T, or of C for half types).
    auto add_sources = [&](std::int64_t o, auto* totals) {
      for (std::int64_t i = 0; i < count; ++i) {
        auto* row = totals + index[i] * inner;
        const T* add = s_data + (o * count + i) * inner;
        for (std::int64_t j = 0; j < inner; ++j) row[j] = static_cast<C>(static_cast<C>(row[j]) + static_cast<C>(add[j]));
      }
    };
    parallel_for(outer, count * inner, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t o = begin; o < end; ++o) {
        T* block = o_data + o * out_n * inner;
        if constexpr (std::is_same_v<C, T>) {
          add_sources(o, block);
        } else {
          // f16 and bf16 sum in the compute type and round once per element, as on CUDA:
          // rounding after every add of a repeated index loses bits.
          std::vector<C> sums(block, block + out_n * inner);
          add_sources(o, sums.data());
          for (std::size_t e = 0; e < sums.size(); ++e) block[e] = static_cast<T>(sums[e]);
        }
      }
    });
  });
}

void gather(DType dtype, std::int64_t outer, std::int64_t in_n, std::int64_t n, std::int64_t inner,
            const void* in, const std::int64_t* index, void* out) {
  dispatch_all(dtype, "gather", [&]<class T>() {
    const T* x = static_cast<const T*>(in);
    T* y = static_cast<T*>(out);
    parallel_for(outer, n * inner, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t o = begin; o < end; ++o)
        for (std::int64_t j = 0; j < n; ++j)
          for (std::int64_t i = 0; i < inner; ++i) {
            const std::int64_t at = (o * n + j) * inner + i;
            y[at] = x[(o * in_n + index[at]) * inner + i];
          }
    });
  });
}

namespace {

// Calls write(to, from) for every source element `from` of [outer, n, inner] and the element
// `to` of the output [outer, out_n, inner] its index names; threads split `outer`.
template <class Write>
void for_each_scatter(std::int64_t outer, std::int64_t out_n, std::int64_t n, std::int64_t inner,
                      const std::int64_t* index, Write&& write) {
  parallel_for(outer, n * inner, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t o = begin; o < end; ++o)
      for (std::int64_t j = 0; j < n; ++j)
        for (std::int64_t i = 0; i < inner; ++i) {
          const std::int64_t from = (o * n + j) * inner + i;
          write((o * out_n + index[from]) * inner + i, from);
        }
  });
}

}  // namespace

void scatter(DType dtype, std::int64_t outer, std::int64_t out_n, std::int64_t n, std::int64_t inner, void* out,
             const std::int64_t* index, const void* src) {
  dispatch_all(dtype, "scatter", [&]<class T>() {
    T* y = static_cast<T*>(out);
    const T* s = static_cast<const T*>(src);
    for_each_scatter(outer, out_n, n, inner, index, [&](std::int64_t to, std::int64_t from) { y[to] = s[from]; });
  });
}

void scatter_add(DType dtype, std::int64_t outer, std::int64_t out_n, std::int64_t n, std::int64_t inner,
                 void* out, const std::int64_t* index, const void* src) {
  dispatch_all(dtype, "scatter_add", [&]<class T>() {
    T* y = static_cast<T*>(out);
    const T* s = static_cast<const T*>(src);
    for_each_scatter(outer, out_n, n, inner, index,
                     [&](std::int64_t to, std::int64_t from) { y[to] = static_cast<T>(y[to] + s[from]); });
  });
}

}  // namespace ember::kernels::cpu
