#include "kernels/reduce.h"

#include <cmath>

#include "kernels/cpu/parallel.h"
#include "kernels/dtype.h"

namespace ember::kernels::cpu {

namespace {

template <class T>
bool is_nan(T value) {
  if constexpr (std::is_floating_point_v<compute_t<T>>) {
    return std::isnan(static_cast<compute_t<T>>(value));
  } else {
    return false;
  }
}

// Advances the position `index` over dims [first, end) by one element in row-major order,
// keeping `offset` (in elements) in step; false once it has wrapped around to the start.
inline bool odometer_step(Sizes& index, std::int64_t& offset, const Sizes& sizes, const Sizes& strides,
                          std::size_t first, std::size_t end) {
  for (std::size_t d = end; d-- > first;) {
    const std::size_t at = d - first;
    ++index[at];
    offset += strides[d];
    if (index[at] < sizes[d]) return true;
    offset -= strides[d] * sizes[d];
    index[at] = 0;
  }
  return false;
}

// Visits the reduced elements of one output: visit(value, flat_position) in row-major order.
template <class T, class Visit>
void for_each_reduced(const T* base, const Sizes& sizes, const Sizes& strides, std::size_t kept,
                      std::int64_t count, Visit&& visit) {
  const std::size_t ndim = sizes.size();
  if (ndim == kept + 1) {  // one reduced dim: the common case, a tight loop
    const std::int64_t stride = strides[kept];
    for (std::int64_t i = 0; i < count; ++i) visit(base[i * stride], i);
    return;
  }
  Sizes index(ndim - kept, 0);
  std::int64_t offset = 0;
  for (std::int64_t i = 0; i < count; ++i) {
    visit(base[offset], i);
    odometer_step(index, offset, sizes, strides, kept, ndim);
  }
}

// The f64 sum of `count` consecutive values: eight partial sums, one per lane, added in a fixed
// order at the end (a deterministic result that no longer waits on one chain of additions:
// the compiler turns the lanes into vector adds).
// bf16 is read as its bits (loop_t) and widened by a shift, which vectorizes; its conversion
// operator is a function call that does not.
template <class T>
double sum_run(const T* elements, std::int64_t count) {
  constexpr std::int64_t kLanes = 8;
  const auto* values = reinterpret_cast<const loop_t<T>*>(elements);
  double lanes[kLanes] = {};
  std::int64_t i = 0;
  for (; i + kLanes <= count; i += kLanes) {
    for (std::int64_t l = 0; l < kLanes; ++l) lanes[l] += static_cast<double>(widen<T>(values[i + l]));
  }
  for (std::int64_t l = 0; i < count; ++i, ++l) lanes[l] += static_cast<double>(widen<T>(values[i]));
  return ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
}

// The f64 sum of one output's reduced elements when the innermost reduced dim is contiguous (a
// bias gradient's rows of H x W, a row sum): run by run, the outer reduced dims by odometer.
template <class T>
double sum_contiguous_runs(const T* base, const Sizes& sizes, const Sizes& strides, std::size_t kept) {
  // The runs' starts: the reduced dims but the innermost, stepped by the odometer.
  const std::size_t innermost = sizes.size() - 1;
  Sizes index(innermost - kept, 0);
  double total = 0;
  std::int64_t offset = 0;
  do {
    total += sum_run(base + offset, sizes.back());
  } while (odometer_step(index, offset, sizes, strides, kept, innermost));
  return total;
}

template <class T>
void reduce_typed(ReduceOp op, const Sizes& sizes, std::size_t kept, const Operand& in, void* out,
                  std::int64_t* indices) {
  std::int64_t outputs = 1, count = 1;
  for (std::size_t d = 0; d < sizes.size(); ++d) (d < kept ? outputs : count) *= sizes[d];
  const T* data = static_cast<const T*>(in.data);

  parallel_for(outputs, count, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t o = begin; o < end; ++o) {
      std::int64_t offset = 0, rest = o;
      for (std::size_t d = kept; d-- > 0;) {
        offset += (rest % sizes[d]) * in.strides[d];
        rest /= sizes[d];
      }
      const T* base = data + offset;
      if (op == ReduceOp::sum) {
        if constexpr (std::is_floating_point_v<compute_t<T>>) {
          double total = 0;  // f64 accumulation keeps long f32 sums accurate
          if (count > 0 && kept < sizes.size() && in.strides.back() == 1) {
            total = sum_contiguous_runs(base, sizes, in.strides, kept);
          } else {
            for_each_reduced(base, sizes, in.strides, kept, count,
                             [&](T v, std::int64_t) { total += static_cast<double>(static_cast<compute_t<T>>(v)); });
          }
          static_cast<T*>(out)[o] = static_cast<T>(static_cast<compute_t<T>>(total));
        } else {
          std::int64_t total = 0;
          for_each_reduced(base, sizes, in.strides, kept, count,
                           [&](T v, std::int64_t) { total += static_cast<std::int64_t>(v); });
          static_cast<std::int64_t*>(out)[o] = total;
        }
        continue;
      }
      const bool want_max = op == ReduceOp::max;
      T best = base[0];
      std::int64_t best_at = 0;
      bool found_nan = is_nan(best);
      for_each_reduced(base, sizes, in.strides, kept, count, [&](T v, std::int64_t at) {
        if (found_nan) return;
        const bool better = is_nan(v) || (want_max ? static_cast<compute_t<T>>(v) > static_cast<compute_t<T>>(best)
                                                   : static_cast<compute_t<T>>(v) < static_cast<compute_t<T>>(best));
        if (better) {
          best = v;
          best_at = at;
          found_nan = is_nan(v);
        }
      });
      static_cast<T*>(out)[o] = best;
      if (indices) indices[o] = best_at;
    }
  });
}

// The reduced dims [kept, end) with each pair of neighbours that lie contiguously one inside the
// other merged into one (an [N, C, H, W] bias gradient's H x W becomes one run instead of H runs
// of W), so that the sums' runs are as long as they can be. Row-major order within the reduced
// elements, which the arg-max indices count in, is unchanged.
void merge_contiguous_reduced_dims(Sizes& sizes, Sizes& strides, std::size_t kept) {
  for (std::size_t d = sizes.size(); d-- > kept + 1;) {
    if (strides[d - 1] == strides[d] * sizes[d]) {
      sizes[d - 1] *= sizes[d];
      strides[d - 1] = strides[d];
      sizes.erase(sizes.begin() + static_cast<std::ptrdiff_t>(d));
      strides.erase(strides.begin() + static_cast<std::ptrdiff_t>(d));
    }
  }
}

}  // namespace

void reduce(ReduceOp op, DType dtype, const Sizes& sizes, std::size_t kept, const Operand& in, void* out,
            std::int64_t* indices) {
  Sizes merged_sizes = sizes;
  Operand merged{in.data, in.strides};
  merge_contiguous_reduced_dims(merged_sizes, merged.strides, kept);
  dispatch_all(dtype, "reduce", [&]<class T>() { reduce_typed<T>(op, merged_sizes, kept, merged, out, indices); });
}

}  // namespace ember::kernels::cpu
