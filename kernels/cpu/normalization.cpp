#include "kernels/normalization.h"

#include <cmath>
#include <vector>

#include "kernels/cpu/parallel.h"
#include "kernels/dtype.h"
#include "kernels/normalization_formulas.h"

namespace ember::kernels::cpu {

namespace {

// An optional per-column (LayerNorm) or per-channel (BatchNorm) affine parameter.
template <class T, class C>
C value_or(const void* values, std::int64_t i, C fallback) {
  return values == nullptr ? fallback : static_cast<C>(static_cast<const T*>(values)[i]);
}

}  // namespace

void layer_norm(DType dtype, std::int64_t rows, std::int64_t cols, const void* x_in, const void* weight,
                const void* bias, double eps, void* y_out, void* mean_out, void* rstd_out) {
  dispatch_floating(dtype, "layer_norm", [&]<class T>() {
    using C = compute_t<T>;
    const T* x = static_cast<const T*>(x_in);
    T* y = static_cast<T*>(y_out);
    parallel_for(rows, cols, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t r = begin; r < end; ++r) {
        const T* row = x + r * cols;
        double total = 0;
        for (std::int64_t c = 0; c < cols; ++c) total += static_cast<double>(static_cast<C>(row[c]));
        const double mean = total / static_cast<double>(cols);
        double squares = 0;
        for (std::int64_t c = 0; c < cols; ++c) {
          const double centred = static_cast<double>(static_cast<C>(row[c])) - mean;
          squares += centred * centred;
        }
        const auto rstd = static_cast<C>(1.0 / std::sqrt(squares / static_cast<double>(cols) + eps));
        const auto m = static_cast<C>(mean);
        static_cast<C*>(mean_out)[r] = m;
        static_cast<C*>(rstd_out)[r] = rstd;
        for (std::int64_t c = 0; c < cols; ++c) {
          const C xhat = normalized(static_cast<C>(row[c]), m, rstd);
          y[r * cols + c] = static_cast<T>(xhat * value_or<T>(weight, c, C(1)) + value_or<T>(bias, c, C(0)));
        }
      }
    });
  });
}

void layer_norm_backward(DType dtype, std::int64_t rows, std::int64_t cols, const void* grad_y_in, const void* x_in,
                         const void* mean_in, const void* rstd_in, const void* weight, void* grad_x_out,
                         void* grad_weight_out, void* grad_bias_out) {
  dispatch_floating(dtype, "layer_norm_backward", [&]<class T>() {
    using C = compute_t<T>;
    const T* x = static_cast<const T*>(x_in);
    const T* dy = static_cast<const T*>(grad_y_in);
    const C* mean = static_cast<const C*>(mean_in);
    const C* rstd = static_cast<const C*>(rstd_in);
    if (grad_x_out != nullptr) {
      T* dx = static_cast<T*>(grad_x_out);
      parallel_for(rows, cols, [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t r = begin; r < end; ++r) {
          const std::int64_t at = r * cols;
          double sum_gw = 0, sum_gw_xhat = 0;
          for (std::int64_t c = 0; c < cols; ++c) {
            const C gw = static_cast<C>(dy[at + c]) * value_or<T>(weight, c, C(1));
            sum_gw += static_cast<double>(gw);
            sum_gw_xhat += static_cast<double>(gw * normalized(static_cast<C>(x[at + c]), mean[r], rstd[r]));
          }
          const auto mean_gw = static_cast<C>(sum_gw / static_cast<double>(cols));
          const auto mean_gw_xhat = static_cast<C>(sum_gw_xhat / static_cast<double>(cols));
          for (std::int64_t c = 0; c < cols; ++c) {
            const C gw = static_cast<C>(dy[at + c]) * value_or<T>(weight, c, C(1));
            const C xhat = normalized(static_cast<C>(x[at + c]), mean[r], rstd[r]);
            dx[at + c] = static_cast<T>(normalization_input_gradient(rstd[r], gw, mean_gw, xhat, mean_gw_xhat));
          }
        }
      });
    }
    if (grad_weight_out == nullptr && grad_bias_out == nullptr) return;
    // Column sums: threads split the columns, each adds its rows in order (no races, one result).
    parallel_for(cols, rows, [&](std::int64_t begin, std::int64_t end) {
      std::vector<double> sum_g(static_cast<std::size_t>(end - begin), 0.0), sum_g_xhat(sum_g);
      for (std::int64_t r = 0; r < rows; ++r) {
        for (std::int64_t c = begin; c < end; ++c) {
          const C g = static_cast<C>(dy[r * cols + c]);
          const auto slot = static_cast<std::size_t>(c - begin);
          sum_g[slot] += static_cast<double>(g);
          const C xhat = normalized(static_cast<C>(x[r * cols + c]), mean[r], rstd[r]);
          sum_g_xhat[slot] += static_cast<double>(g * xhat);
        }
      }
      for (std::int64_t c = begin; c < end; ++c) {
        const auto slot = static_cast<std::size_t>(c - begin);
        if (grad_weight_out != nullptr)
          static_cast<T*>(grad_weight_out)[c] = static_cast<T>(static_cast<C>(sum_g_xhat[slot]));
        if (grad_bias_out != nullptr) static_cast<T*>(grad_bias_out)[c] = static_cast<T>(static_cast<C>(sum_g[slot]));
      }
    });
  });
}

void batch_norm_statistics(DType dtype, std::int64_t batch, std::int64_t channels, std::int64_t spatial,
                           const void* x_in, void* mean_out, void* var_out) {
  dispatch_floating(dtype, "batch_norm", [&]<class T>() {
    using C = compute_t<T>;
    const T* x = static_cast<const T*>(x_in);
    const auto count = static_cast<double>(batch * spatial);
    parallel_for(channels, batch * spatial, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t ch = begin; ch < end; ++ch) {
        double total = 0;
        for (std::int64_t n = 0; n < batch; ++n) {
          const T* plane = x + (n * channels + ch) * spatial;
          for (std::int64_t s = 0; s < spatial; ++s) total += static_cast<double>(static_cast<C>(plane[s]));
        }
        const double mean = total / count;
        double squares = 0;
        for (std::int64_t n = 0; n < batch; ++n) {
          const T* plane = x + (n * channels + ch) * spatial;
          for (std::int64_t s = 0; s < spatial; ++s) {
            const double centred = static_cast<double>(static_cast<C>(plane[s])) - mean;
            squares += centred * centred;
          }
        }
        static_cast<C*>(mean_out)[ch] = static_cast<C>(mean);
        static_cast<C*>(var_out)[ch] = static_cast<C>(squares / count);
      }
    });
  });
}

void batch_norm(DType dtype, std::int64_t batch, std::int64_t channels, std::int64_t spatial, const void* x_in,
                const void* mean_in, const void* invstd_in, const void* weight, const void* bias, void* y_out) {
  dispatch_floating(dtype, "batch_norm", [&]<class T>() {
    using C = compute_t<T>;
    const T* x = static_cast<const T*>(x_in);
    T* y = static_cast<T*>(y_out);
    const C* mean = static_cast<const C*>(mean_in);
    const C* invstd = static_cast<const C*>(invstd_in);
    parallel_for(batch * channels, spatial, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t plane = begin; plane < end; ++plane) {
        const std::int64_t ch = plane % channels;
        const C scale = invstd[ch] * value_or<T>(weight, ch, C(1)), shift = value_or<T>(bias, ch, C(0));
        for (std::int64_t s = 0; s < spatial; ++s) {
          const std::int64_t at = plane * spatial + s;
          y[at] = static_cast<T>((static_cast<C>(x[at]) - mean[ch]) * scale + shift);
        }
      }
    });
  });
}

void batch_norm_backward(DType dtype, std::int64_t batch, std::int64_t channels, std::int64_t spatial,
                         const void* grad_y_in, const void* x_in, const void* mean_in, const void* invstd_in,
                         const void* weight, bool training, void* grad_x_out, void* grad_weight_out,
                         void* grad_bias_out) {
  dispatch_floating(dtype, "batch_norm_backward", [&]<class T>() {
    using C = compute_t<T>;
    const T* x = static_cast<const T*>(x_in);
    const T* dy = static_cast<const T*>(grad_y_in);
    const C* mean = static_cast<const C*>(mean_in);
    const C* invstd = static_cast<const C*>(invstd_in);
    const auto count = static_cast<double>(batch * spatial);
    parallel_for(channels, batch * spatial, [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t ch = begin; ch < end; ++ch) {
        double sum_g = 0, sum_g_xhat = 0;
        for (std::int64_t n = 0; n < batch; ++n) {
          const std::int64_t at = (n * channels + ch) * spatial;
          for (std::int64_t s = 0; s < spatial; ++s) {
            const C g = static_cast<C>(dy[at + s]);
            sum_g += static_cast<double>(g);
            sum_g_xhat += static_cast<double>(g * normalized(static_cast<C>(x[at + s]), mean[ch], invstd[ch]));
          }
        }
        if (grad_weight_out != nullptr)
          static_cast<T*>(grad_weight_out)[ch] = static_cast<T>(static_cast<C>(sum_g_xhat));
        if (grad_bias_out != nullptr) static_cast<T*>(grad_bias_out)[ch] = static_cast<T>(static_cast<C>(sum_g));
        if (grad_x_out == nullptr) continue;
        const C scale = invstd[ch] * value_or<T>(weight, ch, C(1));
        const auto mean_g = training ? static_cast<C>(sum_g / count) : C(0);
        const auto mean_g_xhat = training ? static_cast<C>(sum_g_xhat / count) : C(0);
        for (std::int64_t n = 0; n < batch; ++n) {
          const std::int64_t at = (n * channels + ch) * spatial;
          for (std::int64_t s = 0; s < spatial; ++s) {
            const C xhat = normalized(static_cast<C>(x[at + s]), mean[ch], invstd[ch]);
            static_cast<T*>(grad_x_out)[at + s] =
                static_cast<T>(normalization_input_gradient(scale, static_cast<C>(dy[at + s]), mean_g, xhat,
                                                            mean_g_xhat));
          }
        }
      }
    });
  });
}

}  // namespace ember::kernels::cpu
