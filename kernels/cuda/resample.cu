// Separable 2-D resampling (adaptive average pooling, nearest, bilinear) on the GPU, with the CPU
// kernels' contract (kernels/resample.h). The taps are built on the host and copied to the
// device with the launch. Forward: one thread per output pixel. Backward: one thread per input
// pixel, walking the transposed taps, so gradients are added without atomics and in the CPU's
// order.
#include <cstring>

#include "kernels/cuda/dispatch.cuh"
#include "kernels/cuda/map.cuh"
#include "kernels/resample.h"

namespace ember::kernels::cuda {

namespace {

// One axis's tap table in device memory (see AxisTaps).
struct DeviceTaps {
  const std::int64_t* first;
  const std::int64_t* index;
  const double* weight;
};

// Both axes' tables in one stream-ordered device block, freed after the kernel that reads them.
class TapUpload {
 public:
  TapUpload(const AxisTaps& rows, const AxisTaps& cols) {
    const std::size_t bytes = table_bytes(rows) + table_bytes(cols);
    std::vector<char> host(bytes);
    char* cursor = host.data();
    const std::ptrdiff_t rows_at = 0;
    cursor = pack(rows, cursor);
    const std::ptrdiff_t cols_at = cursor - host.data();
    pack(cols, cursor);
    EMBER_CUDA_CHECK(cudaMallocAsync(&device_, bytes, current_stream()));
    // From pageable memory the copy is staged before cudaMemcpyAsync returns, so `host` may go.
    EMBER_CUDA_CHECK(cudaMemcpyAsync(device_, host.data(), bytes, cudaMemcpyHostToDevice, current_stream()));
    rows_ = view(rows, static_cast<char*>(device_) + rows_at);
    cols_ = view(cols, static_cast<char*>(device_) + cols_at);
  }
  ~TapUpload() { cudaFreeAsync(device_, current_stream()); }
  TapUpload(const TapUpload&) = delete;
  TapUpload& operator=(const TapUpload&) = delete;

  const DeviceTaps& rows() const { return rows_; }
  const DeviceTaps& cols() const { return cols_; }

 private:
  // Layout of one table: weights first (8-byte aligned like the indices), then first, then index.
  static std::size_t table_bytes(const AxisTaps& taps) {
    return taps.weight.size() * sizeof(double) + (taps.first.size() + taps.index.size()) * sizeof(std::int64_t);
  }
  static char* pack(const AxisTaps& taps, char* cursor) {
    cursor = copy(taps.weight.data(), taps.weight.size(), cursor);
    cursor = copy(taps.first.data(), taps.first.size(), cursor);
    return copy(taps.index.data(), taps.index.size(), cursor);
  }
  template <class T>
  static char* copy(const T* data, std::size_t count, char* cursor) {
    std::memcpy(cursor, data, count * sizeof(T));
    return cursor + count * sizeof(T);
  }
  static DeviceTaps view(const AxisTaps& taps, char* at) {
    const auto* weight = reinterpret_cast<const double*>(at);
    const auto* first = reinterpret_cast<const std::int64_t*>(weight + taps.weight.size());
    return {first, first + taps.first.size(), weight};
  }

  void* device_ = nullptr;
  DeviceTaps rows_{}, cols_{};
};

// out[p, o, q] = sum over row taps r of o and column taps c of q of w_r w_c in[p, i_r, j_c]
// (for the backward pass the "taps" are the transposed ones and in/out are the gradients).
template <class T>
__global__ void resample_kernel(std::int64_t planes, std::int64_t in_h, std::int64_t in_w, std::int64_t out_h,
                                std::int64_t out_w, DeviceTaps rows, DeviceTaps cols, const T* in, T* out,
                                bool accumulate) {
  using C = compute_t<T>;
  EMBER_GRID_STRIDE_LOOP(e, planes * out_h * out_w) {
    const std::int64_t q = e % out_w, o = (e / out_w) % out_h, plane = e / (out_w * out_h);
    const T* image = in + plane * in_h * in_w;
    C total = accumulate ? static_cast<C>(out[e]) : C(0);
    for (std::int64_t r = rows.first[o]; r < rows.first[o + 1]; ++r) {
      for (std::int64_t c = cols.first[q]; c < cols.first[q + 1]; ++c) {
        const C w = static_cast<C>(rows.weight[r] * cols.weight[c]);
        total += w * static_cast<C>(image[rows.index[r] * in_w + cols.index[c]]);
      }
    }
    out[e] = static_cast<T>(total);
  }
}

void launch(DType dtype, const char* op, std::int64_t planes, std::int64_t in_h, std::int64_t in_w,
            const AxisTaps& rows, const AxisTaps& cols, const void* in, void* out, bool accumulate) {
  const std::int64_t total = planes * rows.outputs() * cols.outputs();
  if (total == 0) return;
  const TapUpload taps(rows, cols);
  dispatch_floating(dtype, op, [&]<class T>() {
    resample_kernel<T><<<grid_for(total), kBlockThreads, 0, current_stream()>>>(
        planes, in_h, in_w, rows.outputs(), cols.outputs(), taps.rows(), taps.cols(), static_cast<const T*>(in),
        static_cast<T*>(out), accumulate);
  });
  EMBER_CUDA_CHECK_LAUNCH();
}

}  // namespace

void resample2d(DType dtype, std::int64_t planes, std::int64_t height, std::int64_t width, const AxisTaps& rows,
                const AxisTaps& cols, const void* in, void* out) {
  launch(dtype, "resample2d", planes, height, width, rows, cols, in, out, /*accumulate=*/false);
}

void resample2d_backward(DType dtype, std::int64_t planes, std::int64_t height, std::int64_t width,
                         const AxisTaps& rows, const AxisTaps& cols, const void* grad_out, void* grad_in) {
  launch(dtype, "resample2d_backward", planes, rows.outputs(), cols.outputs(), rows.transposed(height),
         cols.transposed(width), grad_out, grad_in, /*accumulate=*/true);
}

}  // namespace ember::kernels::cuda
