#include "kernels/cpu/peak_loops.h"

#include <immintrin.h>

#include <chrono>
#include <cstring>

namespace ember::kernels::cpu {

namespace {

// Each loop keeps Chains accumulators in registers, enough to cover an instruction's latency on
// every port that can issue it: 16 of AVX-512's 32 registers, 12 of AVX2's and SSE's 16 (the other
// registers hold the constants). The loops are plain functions compiled for one instruction set
// each (a lambda would not inherit the target attribute); CMakeLists.txt compiles this file with
// -ffp-contract=fast, so acc * scale + shift is one fused multiply-add where the target has them.
constexpr int kWideChains = 16, kNarrowChains = 12;

template <int Lanes, int Chains>
[[gnu::always_inline]] inline float fma_chains(std::int64_t steps) {
  using Vector [[gnu::vector_size(Lanes * sizeof(float))]] = float;
  Vector acc[Chains];
  for (int c = 0; c < Chains; ++c) acc[c] = Vector{} + 1.0f + static_cast<float>(c);
  const Vector scale = Vector{} + 0.999999f, shift = Vector{} + 1e-7f;
  for (std::int64_t s = 0; s < steps; ++s) {
#pragma GCC unroll 16
    for (int c = 0; c < Chains; ++c) acc[c] = acc[c] * scale + shift;
  }
  Vector sum = acc[0];
  for (int c = 1; c < Chains; ++c) sum += acc[c];
  float first;  // lane 0 (GCC 12 does not subscript a vector whose size depends on a template)
  std::memcpy(&first, &sum, sizeof(first));
  return first;
}

__attribute__((target("avx512f"))) float fma_avx512(std::int64_t steps) { return fma_chains<16, kWideChains>(steps); }
__attribute__((target("avx2,fma"))) float fma_avx2(std::int64_t steps) { return fma_chains<8, kNarrowChains>(steps); }
float multiply_add_sse(std::int64_t steps) { return fma_chains<4, kNarrowChains>(steps); }

__attribute__((target("avx512f,avx512bf16"))) float dot_avx512_bf16(std::int64_t steps) {
  __m512 acc[kWideChains];
  for (int c = 0; c < kWideChains; ++c) acc[c] = _mm512_set1_ps(static_cast<float>(c));
  // Every pair is (1, 1) times (0.5, 0.5): each step adds 1 to every lane.
  const __m512bh ones = (__m512bh)_mm512_set1_epi32(0x3f803f80), halves = (__m512bh)_mm512_set1_epi32(0x3f003f00);
  for (std::int64_t s = 0; s < steps; ++s) {
#pragma GCC unroll 16
    for (int c = 0; c < kWideChains; ++c) acc[c] = _mm512_dpbf16_ps(acc[c], ones, halves);
  }
  __m512 sum = acc[0];
  for (int c = 1; c < kWideChains; ++c) sum = _mm512_add_ps(sum, acc[c]);
  return _mm512_cvtss_f32(sum);
}

}  // namespace

PeakLoop f32_fma_loop(Isa isa) {
  if (isa >= Isa::avx512) return {fma_avx512, 2.0 * 16 * kWideChains};
  if (isa == Isa::avx2) return {fma_avx2, 2.0 * 8 * kNarrowChains};
  return {multiply_add_sse, 2.0 * 4 * kNarrowChains};
}

PeakLoop bf16_dot_loop() { return {dot_avx512_bf16, 2.0 * 2 * 16 * kWideChains}; }

double one_thread_gflops(const PeakLoop& loop, std::int64_t steps) {
  const auto start = std::chrono::steady_clock::now();
  volatile float sink = loop.run(steps);  // used: the loop cannot be dropped
  (void)sink;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return loop.flops_per_step * static_cast<double>(steps) / seconds / 1e9;
}

}  // namespace ember::kernels::cpu
