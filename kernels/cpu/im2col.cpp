#include "kernels/cpu/im2col.h"

#include "kernels/cpu/parallel.h"

namespace ember::kernels::cpu {

namespace {

// Calls visit(col_index, input_index) for every element of column-matrix row (c, kh, kw);
// input_index is -1 where the window reads padding.
template <class Visit>
void for_each_row_element(const ConvGeometry& g, std::int64_t c, std::int64_t kh, std::int64_t kw, Visit&& visit) {
  const std::int64_t columns = g.batch * g.out_h * g.out_w;
  const std::int64_t row = (c * g.kernel_h + kh) * g.kernel_w + kw;
  for (std::int64_t n = 0; n < g.batch; ++n) {
    const std::int64_t plane = (n * g.channels + c) * g.height * g.width;
    for (std::int64_t oh = 0; oh < g.out_h; ++oh) {
      const std::int64_t ih = oh * g.stride_h - g.pad_h + kh * g.dilation_h;
      const std::int64_t column_base = (n * g.out_h + oh) * g.out_w;
      for (std::int64_t ow = 0; ow < g.out_w; ++ow) {
        const std::int64_t iw = ow * g.stride_w - g.pad_w + kw * g.dilation_w;
        const bool inside = ih >= 0 && ih < g.height && iw >= 0 && iw < g.width;
        visit(row * columns + column_base + ow, inside ? plane + ih * g.width + iw : -1);
      }
    }
  }
}

}  // namespace

void im2col(DType dtype, const ConvGeometry& g, const void* input, void* cols) {
  dispatch_floating(dtype, "im2col", [&]<class T>() {
    const T* x = static_cast<const T*>(input);
    T* out = static_cast<T*>(cols);
    // Rows are independent: threads split all C * KH * KW of them (one channel alone may have
    // work for every thread).
    const std::int64_t window = g.kernel_h * g.kernel_w;
    parallel_for(g.channels * window, g.batch * g.out_h * g.out_w, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t row = begin; row < end; ++row) {
        for_each_row_element(g, row / window, row % window / g.kernel_w, row % g.kernel_w,
                             [&](std::int64_t at, std::int64_t from) { out[at] = from < 0 ? T(0) : x[from]; });
      }
    });
  });
}

void col2im(DType dtype, const ConvGeometry& g, const void* cols, void* grad_input) {
  dispatch_floating(dtype, "col2im", [&]<class T>() {
    const T* in = static_cast<const T*>(cols);
    T* grad = static_cast<T*>(grad_input);
    const std::int64_t work = g.kernel_h * g.kernel_w * g.batch * g.out_h * g.out_w;
    // Parallel over channels: each thread owns its channels' planes, so the sums need no atomics
    // and run in a fixed order.
    parallel_for(g.channels, work, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t c = begin; c < end; ++c) {
        for (std::int64_t kh = 0; kh < g.kernel_h; ++kh) {
          for (std::int64_t kw = 0; kw < g.kernel_w; ++kw) {
            for_each_row_element(g, c, kh, kw, [&](std::int64_t at, std::int64_t to) {
              if (to >= 0) grad[to] = static_cast<T>(grad[to] + in[at]);
            });
          }
        }
      }
    });
  });
}

}  // namespace ember::kernels::cpu
