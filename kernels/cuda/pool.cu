// 2-D max and average pooling on the GPU, with the CPU kernels' contract (kernels/pool.h).
// Forward: one thread per output element. Backward: one thread per input element, which adds
// the gradients of the windows covering it in window order: no atomics, the same sums as the
// CPU's on every run.
#include "kernels/cuda/dispatch.cuh"
#include "kernels/cuda/map.cuh"
#include "kernels/pool.h"

namespace ember::kernels::cuda {

namespace {

// The output rows (or columns) whose windows span input position `at`: [first, last]. `extent`
// is the window's span, dilation * (kernel - 1) + 1.
__device__ inline void covering(std::int64_t at, std::int64_t pad, std::int64_t extent, std::int64_t stride,
                                std::int64_t outputs, std::int64_t& first, std::int64_t& last) {
  const std::int64_t shifted = at + pad;  // window o spans [o * stride, o * stride + extent)
  first = shifted < extent ? 0 : (shifted - extent) / stride + 1;
  last = min(shifted / stride, outputs - 1);
}

template <class T>
__global__ void max_pool_kernel(PoolGeometry g, const T* in, T* out, std::int64_t* indices) {
  using C = compute_t<T>;
  EMBER_GRID_STRIDE_LOOP(e, g.planes * g.out_h * g.out_w) {
    const std::int64_t ow = e % g.out_w, oh = (e / g.out_w) % g.out_h, plane = e / (g.out_w * g.out_h);
    const T* x = in + plane * g.height * g.width;
    C best = 0;
    std::int64_t best_at = -1;
    for (std::int64_t kh = 0; kh < g.kernel_h; ++kh) {
      const std::int64_t h = oh * g.stride_h - g.pad_h + kh * g.dilation_h;
      if (h < 0 || h >= g.height) continue;
      for (std::int64_t kw = 0; kw < g.kernel_w; ++kw) {
        const std::int64_t w = ow * g.stride_w - g.pad_w + kw * g.dilation_w;
        if (w < 0 || w >= g.width) continue;
        const C v = static_cast<C>(x[h * g.width + w]);
        // The first element, then only a strictly larger one or the first NaN (the CPU's rule).
        if (best_at < 0 || v > best || (v != v && best == best)) {
          best = v;
          best_at = h * g.width + w;
        }
      }
    }
    out[e] = static_cast<T>(best);
    indices[e] = best_at;
  }
}

template <class T>
__global__ void max_pool_backward_kernel(PoolGeometry g, const T* grad_out, const std::int64_t* indices, T* grad_in) {
  using C = compute_t<T>;
  EMBER_GRID_STRIDE_LOOP(e, g.planes * g.height * g.width) {
    const std::int64_t w = e % g.width, h = (e / g.width) % g.height, plane = e / (g.width * g.height);
    std::int64_t oh0, oh1, ow0, ow1;
    covering(h, g.pad_h, g.dilation_h * (g.kernel_h - 1) + 1, g.stride_h, g.out_h, oh0, oh1);
    covering(w, g.pad_w, g.dilation_w * (g.kernel_w - 1) + 1, g.stride_w, g.out_w, ow0, ow1);
    const std::int64_t base = plane * g.out_h * g.out_w, position = h * g.width + w;
    C sum = static_cast<C>(grad_in[e]);
    for (std::int64_t oh = oh0; oh <= oh1; ++oh) {
      for (std::int64_t ow = ow0; ow <= ow1; ++ow) {
        const std::int64_t o = base + oh * g.out_w + ow;
        if (indices[o] == position) sum += static_cast<C>(grad_out[o]);
      }
    }
    grad_in[e] = static_cast<T>(sum);
  }
}

template <class T>
__global__ void avg_pool_kernel(PoolGeometry g, const T* in, T* out) {
  using C = compute_t<T>;
  EMBER_GRID_STRIDE_LOOP(e, g.planes * g.out_h * g.out_w) {
    const std::int64_t ow = e % g.out_w, oh = (e / g.out_w) % g.out_h, plane = e / (g.out_w * g.out_h);
    const T* x = in + plane * g.height * g.width;
    C sum = 0;
    for (std::int64_t kh = 0; kh < g.kernel_h; ++kh) {
      const std::int64_t h = oh * g.stride_h - g.pad_h + kh;
      if (h < 0 || h >= g.height) continue;
      for (std::int64_t kw = 0; kw < g.kernel_w; ++kw) {
        const std::int64_t w = ow * g.stride_w - g.pad_w + kw;
        if (w >= 0 && w < g.width) sum += static_cast<C>(x[h * g.width + w]);
      }
    }
    out[e] = static_cast<T>(sum / static_cast<C>(avg_pool_divisor(g, oh, ow)));
  }
}

template <class T>
__global__ void avg_pool_backward_kernel(PoolGeometry g, const T* grad_out, T* grad_in) {
  using C = compute_t<T>;
  EMBER_GRID_STRIDE_LOOP(e, g.planes * g.height * g.width) {
    const std::int64_t w = e % g.width, h = (e / g.width) % g.height, plane = e / (g.width * g.height);
    std::int64_t oh0, oh1, ow0, ow1;
    covering(h, g.pad_h, g.kernel_h, g.stride_h, g.out_h, oh0, oh1);
    covering(w, g.pad_w, g.kernel_w, g.stride_w, g.out_w, ow0, ow1);
    const std::int64_t base = plane * g.out_h * g.out_w;
    C sum = static_cast<C>(grad_in[e]);
    for (std::int64_t oh = oh0; oh <= oh1; ++oh) {
      for (std::int64_t ow = ow0; ow <= ow1; ++ow) {
        sum += static_cast<C>(grad_out[base + oh * g.out_w + ow]) / static_cast<C>(avg_pool_divisor(g, oh, ow));
      }
    }
    grad_in[e] = static_cast<T>(sum);
  }
}

// Launches `kernel` over `total` threads for the floating dtype.
template <class Launch>
void launch(DType dtype, const char* op, std::int64_t total, Launch&& body) {
  if (total == 0) return;
  dispatch_floating(dtype, op, [&]<class T>() { body.template operator()<T>(grid_for(total)); });
  EMBER_CUDA_CHECK_LAUNCH();
}

}  // namespace

void max_pool2d(DType dtype, const PoolGeometry& g, const void* in, void* out, std::int64_t* indices) {
  launch(dtype, "max_pool2d", g.planes * g.out_h * g.out_w, [&]<class T>(unsigned grid) {
    max_pool_kernel<T><<<grid, kBlockThreads, 0, current_stream()>>>(g, static_cast<const T*>(in),
                                                                      static_cast<T*>(out), indices);
  });
}

void max_pool2d_backward(DType dtype, const PoolGeometry& g, const void* grad_out, const std::int64_t* indices,
                         void* grad_in) {
  launch(dtype, "max_pool2d", g.planes * g.height * g.width, [&]<class T>(unsigned grid) {
    max_pool_backward_kernel<T><<<grid, kBlockThreads, 0, current_stream()>>>(g, static_cast<const T*>(grad_out),
                                                                               indices, static_cast<T*>(grad_in));
  });
}

void avg_pool2d(DType dtype, const PoolGeometry& g, const void* in, void* out) {
  launch(dtype, "avg_pool2d", g.planes * g.out_h * g.out_w, [&]<class T>(unsigned grid) {
    avg_pool_kernel<T><<<grid, kBlockThreads, 0, current_stream()>>>(g, static_cast<const T*>(in),
                                                                      static_cast<T*>(out));
  });
}

void avg_pool2d_backward(DType dtype, const PoolGeometry& g, const void* grad_out, void* grad_in) {
  launch(dtype, "avg_pool2d", g.planes * g.height * g.width, [&]<class T>(unsigned grid) {
    avg_pool_backward_kernel<T><<<grid, kBlockThreads, 0, current_stream()>>>(g, static_cast<const T*>(grad_out),
                                                                               static_cast<T*>(grad_in));
  });
}

}  // namespace ember::kernels::cuda
