#include "kernels/resample.h"

#include "kernels/cpu/parallel.h"
#include "kernels/dtype.h"

namespace ember::kernels::cpu {

namespace {

// Runs body(plane) for every plane; planes are independent, so threads split them.
template <class Body>
void over_planes(std::int64_t planes, std::int64_t work_per_plane, Body&& body) {
  parallel_for(planes, work_per_plane, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t plane = begin; plane < end; ++plane) body(plane);
  });
}

// Calls visit(out_index_in_plane, in_index_in_plane, weight) for every tap pair.
template <class Visit>
void for_each_tap(std::int64_t width, const AxisTaps& rows, const AxisTaps& cols, Visit&& visit) {
  const std::int64_t out_w = cols.outputs();
  for (std::int64_t oh = 0; oh < rows.outputs(); ++oh) {
    for (std::int64_t ow = 0; ow < out_w; ++ow) {
      for (std::int64_t r = rows.first[oh]; r < rows.first[oh + 1]; ++r) {
        for (std::int64_t c = cols.first[ow]; c < cols.first[ow + 1]; ++c) {
          visit(oh * out_w + ow, rows.index[r] * width + cols.index[c], rows.weight[r] * cols.weight[c]);
        }
      }
    }
  }
}

}  // namespace

void resample2d(DType dtype, std::int64_t planes, std::int64_t height, std::int64_t width, const AxisTaps& rows,
                const AxisTaps& cols, const void* in, void* out) {
  dispatch_floating(dtype, "resample2d", [&]<class T>() {
    using C = compute_t<T>;
    const T* x = static_cast<const T*>(in);
    T* y = static_cast<T*>(out);
    const std::int64_t out_size = rows.outputs() * cols.outputs();
    over_planes(planes, static_cast<std::int64_t>(rows.index.size() * cols.index.size()), [&](std::int64_t plane) {
      const T* image = x + plane * height * width;
      std::vector<C> totals(static_cast<std::size_t>(out_size), C(0));
      for_each_tap(width, rows, cols, [&](std::int64_t at, std::int64_t from, double w) {
        totals[static_cast<std::size_t>(at)] += static_cast<C>(w) * static_cast<C>(image[from]);
      });
      T* result = y + plane * out_size;
      for (std::int64_t i = 0; i < out_size; ++i) result[i] = static_cast<T>(totals[static_cast<std::size_t>(i)]);
    });
  });
}

void resample2d_backward(DType dtype, std::int64_t planes, std::int64_t height, std::int64_t width,
                         const AxisTaps& rows, const AxisTaps& cols, const void* grad_out, void* grad_in) {
  dispatch_floating(dtype, "resample2d_backward", [&]<class T>() {
    using C = compute_t<T>;
    const T* dy = static_cast<const T*>(grad_out);
    T* dx = static_cast<T*>(grad_in);
    const std::int64_t out_size = rows.outputs() * cols.outputs();
    over_planes(planes, static_cast<std::int64_t>(rows.index.size() * cols.index.size()), [&](std::int64_t plane) {
      const T* grad = dy + plane * out_size;
      std::vector<C> totals(static_cast<std::size_t>(height * width), C(0));
      for_each_tap(width, rows, cols, [&](std::int64_t at, std::int64_t to, double w) {
        totals[static_cast<std::size_t>(to)] += static_cast<C>(w) * static_cast<C>(grad[at]);
      });
      T* image = dx + plane * height * width;
      for (std::int64_t i = 0; i < height * width; ++i) {
        image[i] = static_cast<T>(static_cast<C>(image[i]) + totals[static_cast<std::size_t>(i)]);
      }
    });
  });
}

}  // namespace ember::kernels::cpu
