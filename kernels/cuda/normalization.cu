// Fused LayerNorm and BatchNorm on the GPU, with the CPU kernels' contract
// (kernels/normalization.h): the same formulas, statistics in the compute type, f64 sums.
//
// LayerNorm: one block per row for the statistics, the output and the input gradient; the
// weight and bias gradients are column sums, done in two deterministic steps (partial sums
// over row chunks, then the chunks in order). BatchNorm: per-channel sums split over chunks of
// the batch so that every multiprocessor gets work, then combined in order; the output and the
// input gradient are elementwise. No atomics anywhere: every run gives the same bits.
#include <algorithm>

#include "kernels/cuda/block_reduce.cuh"
#include "kernels/cuda/dispatch.cuh"
#include "kernels/cuda/map.cuh"
#include "kernels/normalization.h"
#include "kernels/normalization_formulas.h"

namespace ember::kernels::cuda {

namespace {

// An optional per-column (LayerNorm) or per-channel (BatchNorm) affine parameter.
template <class T, class C = compute_t<T>>
__device__ inline C value_or(const T* values, std::int64_t i, C fallback) {
  return values == nullptr ? fallback : static_cast<C>(values[i]);
}

template <class T>
__device__ inline double wide(T value) {
  return static_cast<double>(static_cast<compute_t<T>>(value));
}

// Threads for a block that walks a row of `cols`: enough for one pass over a short row.
unsigned row_threads(std::int64_t cols) {
  return static_cast<unsigned>(std::clamp<std::int64_t>((cols + 31) / 32 * 32, 32, 512));
}

// Stream-ordered scratch memory for partial sums, freed after the kernels queued before it.
class Scratch {
 public:
  explicit Scratch(std::size_t count) {
    EMBER_CUDA_CHECK(cudaMallocAsync(reinterpret_cast<void**>(&data_), count * sizeof(double), current_stream()));
  }
  ~Scratch() { cudaFreeAsync(data_, current_stream()); }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  double* data() const { return data_; }

 private:
  double* data_ = nullptr;
};

// ---- LayerNorm -------------------------------------------------------------------------------

template <class T>
__global__ void layer_norm_kernel(std::int64_t rows, std::int64_t cols, const T* x, const T* weight, const T* bias,
                                  double eps, T* y, compute_t<T>* mean_out, compute_t<T>* rstd_out) {
  using C = compute_t<T>;
  for (std::int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* row = x + r * cols;
    double total = 0;
    for (std::int64_t c = threadIdx.x; c < cols; c += blockDim.x) total += wide(row[c]);
    const double mean = block_reduce(total, Plus{}) / static_cast<double>(cols);
    double squares = 0;
    for (std::int64_t c = threadIdx.x; c < cols; c += blockDim.x) {
      const double centred = wide(row[c]) - mean;
      squares += centred * centred;
    }
    squares = block_reduce(squares, Plus{});
    const auto rstd = static_cast<C>(1.0 / sqrt(squares / static_cast<double>(cols) + eps));
    const auto m = static_cast<C>(mean);
    if (threadIdx.x == 0) {
      mean_out[r] = m;
      rstd_out[r] = rstd;
    }
    for (std::int64_t c = threadIdx.x; c < cols; c += blockDim.x) {
      const C xhat = normalized(static_cast<C>(row[c]), m, rstd);
      y[r * cols + c] = static_cast<T>(xhat * value_or(weight, c, C(1)) + value_or(bias, c, C(0)));
    }
  }
}

template <class T>
__global__ void layer_norm_grad_input_kernel(std::int64_t rows, std::int64_t cols, const T* dy, const T* x,
                                             const compute_t<T>* mean, const compute_t<T>* rstd, const T* weight,
                                             T* dx) {
  using C = compute_t<T>;
  for (std::int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const std::int64_t at = r * cols;
    double sum_gw = 0, sum_gw_xhat = 0;
    for (std::int64_t c = threadIdx.x; c < cols; c += blockDim.x) {
      const C gw = static_cast<C>(dy[at + c]) * value_or(weight, c, C(1));
      sum_gw += static_cast<double>(gw);
      sum_gw_xhat += static_cast<double>(gw * normalized(static_cast<C>(x[at + c]), mean[r], rstd[r]));
    }
    const auto mean_gw = static_cast<C>(block_reduce(sum_gw, Plus{}) / static_cast<double>(cols));
    const auto mean_gw_xhat = static_cast<C>(block_reduce(sum_gw_xhat, Plus{}) / static_cast<double>(cols));
    for (std::int64_t c = threadIdx.x; c < cols; c += blockDim.x) {
      const C gw = static_cast<C>(dy[at + c]) * value_or(weight, c, C(1));
      const C xhat = normalized(static_cast<C>(x[at + c]), mean[r], rstd[r]);
      dx[at + c] = static_cast<T>(normalization_input_gradient(rstd[r], gw, mean_gw, xhat, mean_gw_xhat));
    }
  }
}

// Column sums of grad_y and grad_y xhat, step 1: block (column tile, row chunk) with 32 x 8
// threads; threadIdx.x picks the column (coalesced reads), threadIdx.y strides the chunk's rows,
// then the 8 partial sums of a column are added in order.
constexpr int kTileColumns = 32, kTileRows = 8;
constexpr std::int64_t kRowsPerChunk = 256;

template <class T>
__global__ void layer_norm_column_partials_kernel(std::int64_t rows, std::int64_t cols, const T* dy, const T* x,
                                                  const compute_t<T>* mean, const compute_t<T>* rstd,
                                                  double* partial_g, double* partial_g_xhat) {
  using C = compute_t<T>;
  __shared__ double tile_g[kTileRows][kTileColumns], tile_g_xhat[kTileRows][kTileColumns];
  const std::int64_t c = blockIdx.x * static_cast<std::int64_t>(kTileColumns) + threadIdx.x;
  const std::int64_t first = blockIdx.y * kRowsPerChunk, last = min(rows, first + kRowsPerChunk);
  double sum_g = 0, sum_g_xhat = 0;
  if (c < cols) {
    for (std::int64_t r = first + threadIdx.y; r < last; r += kTileRows) {
      const C g = static_cast<C>(dy[r * cols + c]);
      sum_g += static_cast<double>(g);
      sum_g_xhat += static_cast<double>(g * normalized(static_cast<C>(x[r * cols + c]), mean[r], rstd[r]));
    }
  }
  tile_g[threadIdx.y][threadIdx.x] = sum_g;
  tile_g_xhat[threadIdx.y][threadIdx.x] = sum_g_xhat;
  __syncthreads();
  if (threadIdx.y == 0 && c < cols) {
    for (int k = 1; k < kTileRows; ++k) {
      sum_g += tile_g[k][threadIdx.x];
      sum_g_xhat += tile_g_xhat[k][threadIdx.x];
    }
    partial_g[blockIdx.y * cols + c] = sum_g;
    partial_g_xhat[blockIdx.y * cols + c] = sum_g_xhat;
  }
}

// Step 2: one thread per column adds its chunks in order.
template <class T>
__global__ void layer_norm_column_finish_kernel(std::int64_t chunks, std::int64_t cols, const double* partial_g,
                                                const double* partial_g_xhat, T* grad_weight, T* grad_bias) {
  using C = compute_t<T>;
  EMBER_GRID_STRIDE_LOOP(c, cols) {
    double sum_g = 0, sum_g_xhat = 0;
    for (std::int64_t k = 0; k < chunks; ++k) {
      sum_g += partial_g[k * cols + c];
      sum_g_xhat += partial_g_xhat[k * cols + c];
    }
    if (grad_weight != nullptr) grad_weight[c] = static_cast<T>(static_cast<C>(sum_g_xhat));
    if (grad_bias != nullptr) grad_bias[c] = static_cast<T>(static_cast<C>(sum_g));
  }
}

// ---- BatchNorm -------------------------------------------------------------------------------

// How a channel's batch items are split over blocks: about four blocks per multiprocessor in all.
struct ChannelSplit {
  std::int64_t items_per_chunk, chunks;
};

ChannelSplit split_channels(std::int64_t batch, std::int64_t channels) {
  if (batch == 0) return {1, 1};  // one empty chunk: the sums are 0
  const std::int64_t wanted = std::clamp<std::int64_t>(4 * multiprocessor_count() / std::max<std::int64_t>(channels, 1),
                                                       1, std::min<std::int64_t>(batch, 65535));
  const std::int64_t per_chunk = (batch + wanted - 1) / wanted;
  return {per_chunk, (batch + per_chunk - 1) / per_chunk};
}

// The terms summed per channel. Statistics pass 1: x. Pass 2: (x - mean)^2. Backward: grad_y
// and grad_y xhat.
template <class T>
struct SumOfInput {
  const T* x;
  __device__ void operator()(std::int64_t at, std::int64_t, double& a, double&) const { a += wide(x[at]); }
};
template <class T>
struct SquaresAroundMean {
  const T* x;
  const double* mean;
  __device__ void operator()(std::int64_t at, std::int64_t ch, double& a, double&) const {
    const double centred = wide(x[at]) - mean[ch];
    a += centred * centred;
  }
};
template <class T>
struct GradientTerms {
  const T* dy;
  const T* x;
  const compute_t<T>* mean;
  const compute_t<T>* invstd;
  __device__ void operator()(std::int64_t at, std::int64_t ch, double& a, double& b) const {
    using C = compute_t<T>;
    const C g = static_cast<C>(dy[at]);
    a += static_cast<double>(g);
    b += static_cast<double>(g * normalized(static_cast<C>(x[at]), mean[ch], invstd[ch]));
  }
};

// Block (channel, chunk) sums `term` over its batch items and all spatial positions into
// partial_a/partial_b[channel * chunks + chunk] (partial_b may be null for one-term sums).
template <class Term>
__global__ void channel_partials_kernel(std::int64_t batch, std::int64_t channels, std::int64_t spatial,
                                        ChannelSplit split, Term term, double* partial_a, double* partial_b) {
  const std::int64_t ch = blockIdx.x, chunk = blockIdx.y;
  const std::int64_t first = chunk * split.items_per_chunk, last = min(batch, first + split.items_per_chunk);
  const std::int64_t count = (last - first) * spatial;
  double a = 0, b = 0;
  for (std::int64_t i = threadIdx.x; i < count; i += blockDim.x) {
    const std::int64_t n = first + i / spatial, s = i % spatial;
    term((n * channels + ch) * spatial + s, ch, a, b);
  }
  a = block_reduce(a, Plus{});
  b = block_reduce(b, Plus{});
  if (threadIdx.x == 0) {
    partial_a[ch * split.chunks + chunk] = a;
    if (partial_b != nullptr) partial_b[ch * split.chunks + chunk] = b;
  }
}

template <class Term>
void channel_partials(std::int64_t batch, std::int64_t channels, std::int64_t spatial, const ChannelSplit& split,
                      const Term& term, double* partial_a, double* partial_b) {
  const dim3 grid(static_cast<unsigned>(channels), static_cast<unsigned>(split.chunks));
  channel_partials_kernel<<<grid, row_threads(split.items_per_chunk * spatial), 0, current_stream()>>>(
      batch, channels, spatial, split, term, partial_a, partial_b);
  EMBER_CUDA_CHECK_LAUNCH();
}

// Adds each channel's chunks in order, divided by `count`: into `wide_out` (f64, may be null)
// and `out` (the compute type).
template <class C>
__global__ void channel_finish_kernel(std::int64_t channels, std::int64_t chunks, const double* partial,
                                      double count, double* wide_out, C* out) {
  EMBER_GRID_STRIDE_LOOP(ch, channels) {
    double total = 0;
    for (std::int64_t k = 0; k < chunks; ++k) total += partial[ch * chunks + k];
    if (wide_out != nullptr) wide_out[ch] = total / count;
    out[ch] = static_cast<C>(total / count);
  }
}

template <class T>
__global__ void batch_norm_kernel(std::int64_t total, std::int64_t channels, std::int64_t spatial, const T* x,
                                  const compute_t<T>* mean, const compute_t<T>* invstd, const T* weight,
                                  const T* bias, T* y) {
  using C = compute_t<T>;
  EMBER_GRID_STRIDE_LOOP(e, total) {
    const std::int64_t ch = (e / spatial) % channels;
    const C scale = invstd[ch] * value_or(weight, ch, C(1));
    y[e] = static_cast<T>((static_cast<C>(x[e]) - mean[ch]) * scale + value_or(bias, ch, C(0)));
  }
}

// grad_weight / grad_bias in the parameters' dtype from the per-channel f64 sums.
template <class T>
__global__ void batch_norm_parameter_grads_kernel(std::int64_t channels, const double* sum_g,
                                                  const double* sum_g_xhat, T* grad_weight, T* grad_bias) {
  using C = compute_t<T>;
  EMBER_GRID_STRIDE_LOOP(ch, channels) {
    if (grad_weight != nullptr) grad_weight[ch] = static_cast<T>(static_cast<C>(sum_g_xhat[ch]));
    if (grad_bias != nullptr) grad_bias[ch] = static_cast<T>(static_cast<C>(sum_g[ch]));
  }
}

template <class T>
__global__ void batch_norm_grad_input_kernel(std::int64_t total, std::int64_t channels, std::int64_t spatial,
                                             double count, const T* dy, const T* x, const compute_t<T>* mean,
                                             const compute_t<T>* invstd, const T* weight, const double* sum_g,
                                             const double* sum_g_xhat, bool training, T* dx) {
  using C = compute_t<T>;
  EMBER_GRID_STRIDE_LOOP(e, total) {
    const std::int64_t ch = (e / spatial) % channels;
    const C scale = invstd[ch] * value_or(weight, ch, C(1));
    const C mean_g = training ? static_cast<C>(sum_g[ch] / count) : C(0);
    const C mean_g_xhat = training ? static_cast<C>(sum_g_xhat[ch] / count) : C(0);
    const C xhat = normalized(static_cast<C>(x[e]), mean[ch], invstd[ch]);
    dx[e] = static_cast<T>(normalization_input_gradient(scale, static_cast<C>(dy[e]), mean_g, xhat, mean_g_xhat));
  }
}

}  // namespace

void layer_norm(DType dtype, std::int64_t rows, std::int64_t cols, const void* x, const void* weight,
                const void* bias, double eps, void* y, void* mean, void* rstd) {
  if (rows == 0) return;
  dispatch_floating(dtype, "layer_norm", [&]<class T>() {
    using C = compute_t<T>;
    const auto blocks = static_cast<unsigned>(std::min<std::int64_t>(rows, 1 << 30));
    layer_norm_kernel<T><<<blocks, row_threads(cols), 0, current_stream()>>>(
        rows, cols, static_cast<const T*>(x), static_cast<const T*>(weight), static_cast<const T*>(bias), eps,
        static_cast<T*>(y), static_cast<C*>(mean), static_cast<C*>(rstd));
  });
  EMBER_CUDA_CHECK_LAUNCH();
}

void layer_norm_backward(DType dtype, std::int64_t rows, std::int64_t cols, const void* grad_y, const void* x,
                         const void* mean, const void* rstd, const void* weight, void* grad_x, void* grad_weight,
                         void* grad_bias) {
  if (cols == 0) return;
  if (rows == 0) {  // no rows: the parameter gradients are sums of nothing
    const std::size_t bytes = static_cast<std::size_t>(cols) * size_of(dtype);
    if (grad_weight != nullptr) EMBER_CUDA_CHECK(cudaMemsetAsync(grad_weight, 0, bytes, current_stream()));
    if (grad_bias != nullptr) EMBER_CUDA_CHECK(cudaMemsetAsync(grad_bias, 0, bytes, current_stream()));
    return;
  }
  dispatch_floating(dtype, "layer_norm_backward", [&]<class T>() {
    using C = compute_t<T>;
    const auto* dy = static_cast<const T*>(grad_y);
    const auto* xs = static_cast<const T*>(x);
    const auto* m = static_cast<const C*>(mean);
    const auto* r = static_cast<const C*>(rstd);
    const cudaStream_t stream = current_stream();
    if (grad_x != nullptr) {
      const auto blocks = static_cast<unsigned>(std::min<std::int64_t>(rows, 1 << 30));
      layer_norm_grad_input_kernel<T><<<blocks, row_threads(cols), 0, stream>>>(
          rows, cols, dy, xs, m, r, static_cast<const T*>(weight), static_cast<T*>(grad_x));
      EMBER_CUDA_CHECK_LAUNCH();
    }
    if (grad_weight == nullptr && grad_bias == nullptr) return;
    const std::int64_t chunks = (rows + kRowsPerChunk - 1) / kRowsPerChunk;
    const Scratch partials(static_cast<std::size_t>(2 * chunks * cols));
    double* partial_g = partials.data();
    double* partial_g_xhat = partial_g + chunks * cols;
    const dim3 grid(static_cast<unsigned>((cols + kTileColumns - 1) / kTileColumns), static_cast<unsigned>(chunks));
    layer_norm_column_partials_kernel<T><<<grid, dim3(kTileColumns, kTileRows), 0, stream>>>(
        rows, cols, dy, xs, m, r, partial_g, partial_g_xhat);
    EMBER_CUDA_CHECK_LAUNCH();
    layer_norm_column_finish_kernel<T><<<grid_for(cols), kBlockThreads, 0, stream>>>(
        chunks, cols, partial_g, partial_g_xhat, static_cast<T*>(grad_weight), static_cast<T*>(grad_bias));
    EMBER_CUDA_CHECK_LAUNCH();
  });
}

void batch_norm_statistics(DType dtype, std::int64_t batch, std::int64_t channels, std::int64_t spatial,
                           const void* x, void* mean, void* var) {
  if (channels == 0) return;
  dispatch_floating(dtype, "batch_norm", [&]<class T>() {
    using C = compute_t<T>;
    const auto* xs = static_cast<const T*>(x);
    const ChannelSplit split = split_channels(batch, channels);
    // Partials (reused by both passes), then the f64 mean the second pass centres on.
    const Scratch scratch(static_cast<std::size_t>(channels * split.chunks + channels));
    double* partial = scratch.data();
    double* wide_mean = partial + channels * split.chunks;
    const auto count = static_cast<double>(batch * spatial);
    const cudaStream_t stream = current_stream();
    channel_partials(batch, channels, spatial, split, SumOfInput<T>{xs}, partial, nullptr);
    channel_finish_kernel<C><<<grid_for(channels), kBlockThreads, 0, stream>>>(channels, split.chunks, partial, count,
                                                                               wide_mean, static_cast<C*>(mean));
    EMBER_CUDA_CHECK_LAUNCH();
    channel_partials(batch, channels, spatial, split, SquaresAroundMean<T>{xs, wide_mean}, partial, nullptr);
    channel_finish_kernel<C><<<grid_for(channels), kBlockThreads, 0, stream>>>(channels, split.chunks, partial, count,
                                                                               nullptr, static_cast<C*>(var));
    EMBER_CUDA_CHECK_LAUNCH();
  });
}

void batch_norm(DType dtype, std::int64_t batch, std::int64_t channels, std::int64_t spatial, const void* x,
                const void* mean, const void* invstd, const void* weight, const void* bias, void* y) {
  const std::int64_t total = batch * channels * spatial;
  if (total == 0) return;
  dispatch_floating(dtype, "batch_norm", [&]<class T>() {
    using C = compute_t<T>;
    batch_norm_kernel<T><<<grid_for(total), kBlockThreads, 0, current_stream()>>>(
        total, channels, spatial, static_cast<const T*>(x), static_cast<const C*>(mean),
        static_cast<const C*>(invstd), static_cast<const T*>(weight), static_cast<const T*>(bias),
        static_cast<T*>(y));
  });
  EMBER_CUDA_CHECK_LAUNCH();
}

void batch_norm_backward(DType dtype, std::int64_t batch, std::int64_t channels, std::int64_t spatial,
                         const void* grad_y, const void* x, const void* mean, const void* invstd, const void* weight,
                         bool training, void* grad_x, void* grad_weight, void* grad_bias) {
  const std::int64_t total = batch * channels * spatial;
  if (channels == 0) return;
  dispatch_floating(dtype, "batch_norm_backward", [&]<class T>() {
    using C = compute_t<T>;
    const auto* dy = static_cast<const T*>(grad_y);
    const auto* xs = static_cast<const T*>(x);
    const auto* m = static_cast<const C*>(mean);
    const auto* s = static_cast<const C*>(invstd);
    const ChannelSplit split = split_channels(batch, channels);
    // Partials of both sums, then the per-channel sums (the finish step with count 1).
    const Scratch scratch(static_cast<std::size_t>(2 * channels * split.chunks + 2 * channels));
    double* partial_g = scratch.data();
    double* partial_g_xhat = partial_g + channels * split.chunks;
    double* sum_g = partial_g_xhat + channels * split.chunks;
    double* sum_g_xhat = sum_g + channels;
    const cudaStream_t stream = current_stream();
    channel_partials(batch, channels, spatial, split, GradientTerms<T>{dy, xs, m, s}, partial_g, partial_g_xhat);
    channel_finish_kernel<double><<<grid_for(channels), kBlockThreads, 0, stream>>>(
        channels, split.chunks, partial_g, 1.0, nullptr, sum_g);
    channel_finish_kernel<double><<<grid_for(channels), kBlockThreads, 0, stream>>>(
        channels, split.chunks, partial_g_xhat, 1.0, nullptr, sum_g_xhat);
    EMBER_CUDA_CHECK_LAUNCH();
    batch_norm_parameter_grads_kernel<T><<<grid_for(channels), kBlockThreads, 0, stream>>>(
        channels, sum_g, sum_g_xhat, static_cast<T*>(grad_weight), static_cast<T*>(grad_bias));
    EMBER_CUDA_CHECK_LAUNCH();
    if (grad_x != nullptr && total > 0) {
      batch_norm_grad_input_kernel<T><<<grid_for(total), kBlockThreads, 0, stream>>>(
          total, channels, spatial, static_cast<double>(batch * spatial), dy, xs, m, s,
          static_cast<const T*>(weight), sum_g, sum_g_xhat, training, static_cast<T*>(grad_x));
      EMBER_CUDA_CHECK_LAUNCH();
    }
  });
}

}  // namespace ember::kernels::cuda
