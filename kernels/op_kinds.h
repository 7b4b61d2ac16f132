#pragma once
// The op kinds the CPU and CUDA kernels share, so the op layer names one enum for both devices.

namespace ember::kernels {

enum class UnaryOp { neg, exp, log, sqrt, abs, relu, gelu, gelu_tanh, sigmoid, tanh };
// gelu_backward computes a * gelu'(b) (gelu_tanh_backward: of the tanh form); relu_backward
// passes a where b > 0 (b is relu's output) and gives 0 elsewhere.
enum class BinaryOp { add, sub, mul, div, pow, gelu_backward, gelu_tanh_backward, relu_backward };
enum class CompareOp { eq, ne, lt, le, gt, ge };
enum class ReduceOp { sum, max, min };

}  // namespace ember::kernels
