// Convolution on the GPU through cuDNN: the forward product and both backward products of a
// grouped 2-d convolution over contiguous NCHW tensors. The op layer builds conv2d from them
// and, as its adjoint, conv_transpose2d (whose forward is backward_data).
//
// The convolution: image [N, C, H, W] (g.batch, g.channels, g.height, g.width), weight
// [out_channels, C / groups, KH, KW], output [N, out_channels, g.out_h, g.out_w]. cuDNN's
// algorithm for each (direction, dtype, shape) is chosen once by its heuristic and cached; its
// workspace comes from CUDA's stream-ordered allocator. f16/bf16 run on the tensor cores with
// f32 accumulation; f32 stays in full f32 unless TF32 is allowed (kernels/cuda/tf32.h).
// cuDNN convolutions (kernels/conv.h), through cuDNN's legacy convolution API.
#include "kernels/conv.h"

#include <cudnn.h>

#include <map>
#include <mutex>
#include <vector>

#include "kernels/cuda/check.h"
#include "kernels/cuda/tf32.h"
#include "kernels/cuda/stream.h"

namespace ember::kernels::cuda {

namespace {

// As EMBER_CUDA_CHECK, for cuDNN's status codes.
#define EMBER_CUDNN_CHECK(call)                                                                          \
  do {                                                                                                   \
    const cudnnStatus_t ember_cudnn_status = (call);                                                     \
    if (ember_cudnn_status != CUDNN_STATUS_SUCCESS) {                                                    \
      fail("cuDNN error: ", cudnnGetErrorString(ember_cudnn_status), " in ", #call, " at ", __FILE__, ":", \
           __LINE__);                                                                                    \
    }                                                                                                    \
  } while (false)

enum class Direction { forward, backward_data, backward_filter };

// The descriptors of one convolution, destroyed with it.
struct ConvDescriptors {
  cudnnTensorDescriptor_t image = nullptr, output = nullptr;
  cudnnFilterDescriptor_t weight = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;

  ConvDescriptors(DType dtype, const ConvGeometry& g, std::int64_t out_channels, std::int64_t groups) {
    const cudnnDataType_t type = dtype == DType::f16    ? CUDNN_DATA_HALF
                                 : dtype == DType::bf16 ? CUDNN_DATA_BFLOAT16
                                 : dtype == DType::f64  ? CUDNN_DATA_DOUBLE
                                                        : CUDNN_DATA_FLOAT;
    EMBER_CHECK(dtype == DType::f16 || dtype == DType::bf16 || dtype == DType::f32 || dtype == DType::f64,
                "conv2d (CUDA): expected a floating dtype, got ", dtype);
    auto i = [](std::int64_t v) { return static_cast<int>(v); };
    EMBER_CUDNN_CHECK(cudnnCreateTensorDescriptor(&image));
    EMBER_CUDNN_CHECK(cudnnSetTensor4dDescriptor(image, CUDNN_TENSOR_NCHW, type, i(g.batch), i(g.channels),
                                                 i(g.height), i(g.width)));
    EMBER_CUDNN_CHECK(cudnnCreateTensorDescriptor(&output));
    EMBER_CUDNN_CHECK(cudnnSetTensor4dDescriptor(output, CUDNN_TENSOR_NCHW, type, i(g.batch), i(out_channels),
                                                 i(g.out_h), i(g.out_w)));
    EMBER_CUDNN_CHECK(cudnnCreateFilterDescriptor(&weight));
    EMBER_CUDNN_CHECK(cudnnSetFilter4dDescriptor(weight, type, CUDNN_TENSOR_NCHW, i(out_channels),
                                                 i(g.channels / groups), i(g.kernel_h), i(g.kernel_w)));
    EMBER_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&conv));
    // Half types accumulate in f32; f64 in f64.
    const cudnnDataType_t compute = dtype == DType::f64 ? CUDNN_DATA_DOUBLE : CUDNN_DATA_FLOAT;
    EMBER_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(conv, i(g.pad_h), i(g.pad_w), i(g.stride_h), i(g.stride_w),
                                                      i(g.dilation_h), i(g.dilation_w), CUDNN_CROSS_CORRELATION,
                                                      compute));
    EMBER_CUDNN_CHECK(cudnnSetConvolutionGroupCount(conv, i(groups)));
    const bool half = dtype == DType::f16 || dtype == DType::bf16;
    // FMA math keeps f32 in full precision (cuDNN's default would allow TF32 on this hardware).
    const cudnnMathType_t math = half                                  ? CUDNN_TENSOR_OP_MATH
                                 : dtype == DType::f32 && !allow_tf32() ? CUDNN_FMA_MATH
                                                                        : CUDNN_DEFAULT_MATH;
    EMBER_CUDNN_CHECK(cudnnSetConvolutionMathType(conv, math));
  }
  ~ConvDescriptors() {
    if (conv) cudnnDestroyConvolutionDescriptor(conv);
    if (weight) cudnnDestroyFilterDescriptor(weight);
    if (output) cudnnDestroyTensorDescriptor(output);
    if (image) cudnnDestroyTensorDescriptor(image);
  }
  ConvDescriptors(const ConvDescriptors&) = delete;
  ConvDescriptors& operator=(const ConvDescriptors&) = delete;
};

// An algorithm cuDNN picked, with the workspace it needs.
struct Choice {
  int algorithm;
  std::size_t workspace;
};

struct Cache {
  std::mutex mutex;
  std::map<int, cudnnHandle_t> handles;
  std::map<std::vector<std::int64_t>, Choice> choices;
};

Cache& cache() {
  static Cache* instance = new Cache;  // never destroyed: CUDA may be torn down before statics
  return *instance;
}

cudnnHandle_t handle_for_current_device() {
  int device = 0;
  EMBER_CUDA_CHECK(cudaGetDevice(&device));
  Cache& c = cache();
  std::lock_guard lock(c.mutex);
  cudnnHandle_t& handle = c.handles[device];
  if (handle == nullptr) EMBER_CUDNN_CHECK(cudnnCreate(&handle));
  return handle;
}

// cuDNN's heuristic returns candidates best first; the first that cuDNN supports wins.
template <class Perf>
Choice first_supported(const Perf* results, int count, const char* what) {
  for (int r = 0; r < count; ++r) {
    if (results[r].status == CUDNN_STATUS_SUCCESS) return {static_cast<int>(results[r].algo), results[r].memory};
  }
  fail("conv2d (CUDA): cuDNN has no ", what, " algorithm for this convolution");
}

Choice choose(cudnnHandle_t handle, Direction direction, DType dtype, const ConvGeometry& g, std::int64_t out_channels,
              std::int64_t groups, const ConvDescriptors& d) {
  int device = 0;
  EMBER_CUDA_CHECK(cudaGetDevice(&device));
  const std::vector<std::int64_t> key{device,       static_cast<std::int64_t>(direction),
                                      static_cast<std::int64_t>(dtype), allow_tf32(),
                                      g.batch,      g.channels,  g.height,     g.width,      g.kernel_h,
                                      g.kernel_w,   g.stride_h,  g.stride_w,   g.pad_h,      g.pad_w,
                                      g.dilation_h, g.dilation_w, g.out_h,     g.out_w,      out_channels,
                                      groups};
  Cache& c = cache();
  {
    std::lock_guard lock(c.mutex);
    const auto found = c.choices.find(key);
    if (found != c.choices.end()) return found->second;
  }
  constexpr int kCandidates = 8;
  int count = 0;
  Choice choice{};
  switch (direction) {
    case Direction::forward: {
      cudnnConvolutionFwdAlgoPerf_t results[kCandidates];
      EMBER_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(handle, d.image, d.weight, d.conv, d.output,
                                                               kCandidates, &count, results));
      choice = first_supported(results, count, "forward");
      break;
    }
    case Direction::backward_data: {
      cudnnConvolutionBwdDataAlgoPerf_t results[kCandidates];
      EMBER_CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(handle, d.weight, d.output, d.conv, d.image,
                                                                    kCandidates, &count, results));
      choice = first_supported(results, count, "backward-data");
      break;
    }
    case Direction::backward_filter: {
      cudnnConvolutionBwdFilterAlgoPerf_t results[kCandidates];
      EMBER_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(handle, d.image, d.output, d.conv, d.weight,
                                                                      kCandidates, &count, results));
      choice = first_supported(results, count, "backward-filter");
      break;
    }
  }
  std::lock_guard lock(c.mutex);
  c.choices.emplace(key, choice);
  return choice;
}

// Runs one direction: descriptors, algorithm, a stream-ordered workspace, the cuDNN call.
template <class Call>
void run(Direction direction, DType dtype, const ConvGeometry& g, std::int64_t out_channels, std::int64_t groups,
         bool accumulate, Call&& call) {
  const ConvDescriptors d(dtype, g, out_channels, groups);
  const cudnnHandle_t handle = handle_for_current_device();
  const cudaStream_t stream = current_stream();
  EMBER_CUDNN_CHECK(cudnnSetStream(handle, stream));
  const Choice choice = choose(handle, direction, dtype, g, out_channels, groups, d);
  void* workspace = nullptr;
  if (choice.workspace > 0) EMBER_CUDA_CHECK(cudaMallocAsync(&workspace, choice.workspace, stream));
  // cuDNN writes alpha * result + beta * output: alpha = 1, and beta = 1 to accumulate onto the
  // output, 0 to overwrite it. Scaling factors are float, except double for f64.
  const float alpha_f = 1.0f, beta_f = accumulate ? 1.0f : 0.0f;
  const double alpha_d = 1.0, beta_d = accumulate ? 1.0 : 0.0;
  const bool f64 = dtype == DType::f64;
  call(handle, d, choice.algorithm, workspace, choice.workspace, f64 ? static_cast<const void*>(&alpha_d) : &alpha_f,
       f64 ? static_cast<const void*>(&beta_d) : &beta_f);
  if (workspace != nullptr) EMBER_CUDA_CHECK(cudaFreeAsync(workspace, stream));
}

}  // namespace

void conv2d_forward(DType dtype, const ConvGeometry& g, std::int64_t out_channels, std::int64_t groups,
                    const void* image, const void* weight, void* output, bool accumulate) {
  run(Direction::forward, dtype, g, out_channels, groups, accumulate,
      [&](cudnnHandle_t handle, const ConvDescriptors& d, int algorithm, void* workspace, std::size_t bytes,
          const void* alpha, const void* beta) {
        EMBER_CUDNN_CHECK(cudnnConvolutionForward(handle, alpha, d.image, image, d.weight, weight, d.conv,
                                                  static_cast<cudnnConvolutionFwdAlgo_t>(algorithm), workspace, bytes,
                                                  beta, d.output, output));
      });
}

void conv2d_backward_data(DType dtype, const ConvGeometry& g, std::int64_t out_channels, std::int64_t groups,
                          const void* weight, const void* grad_output, void* grad_image, bool accumulate) {
  run(Direction::backward_data, dtype, g, out_channels, groups, accumulate,
      [&](cudnnHandle_t handle, const ConvDescriptors& d, int algorithm, void* workspace, std::size_t bytes,
          const void* alpha, const void* beta) {
        EMBER_CUDNN_CHECK(cudnnConvolutionBackwardData(handle, alpha, d.weight, weight, d.output, grad_output, d.conv,
                                                       static_cast<cudnnConvolutionBwdDataAlgo_t>(algorithm),
                                                       workspace, bytes, beta, d.image, grad_image));
      });
}

void conv2d_backward_filter(DType dtype, const ConvGeometry& g, std::int64_t out_channels, std::int64_t groups,
                            const void* image, const void* grad_output, void* grad_weight) {
  run(Direction::backward_filter, dtype, g, out_channels, groups, /*accumulate=*/false,
      [&](cudnnHandle_t handle, const ConvDescriptors& d, int algorithm, void* workspace, std::size_t bytes,
          const void* alpha, const void* beta) {
        EMBER_CUDNN_CHECK(cudnnConvolutionBackwardFilter(handle, alpha, d.image, image, d.output, grad_output, d.conv,
                                                         static_cast<cudnnConvolutionBwdFilterAlgo_t>(algorithm),
                                                         workspace, bytes, beta, d.weight, grad_weight));
      });
}

}  // namespace ember::kernels::cuda
