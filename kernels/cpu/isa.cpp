#include "kernels/cpu/isa.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "kernels/cpu/peak_loops.h"
#include "kernels/error.h"

namespace ember::kernels::cpu {

Isa cpu_isa_supported() {
  static const Isa supported = [] {
    if (__builtin_cpu_supports("avx512f")) {
      return __builtin_cpu_supports("avx512bf16") ? Isa::avx512_bf16 : Isa::avx512;
    }
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? Isa::avx2 : Isa::generic;
  }();
  return supported;
}

double bf16_dot_rate_over_fma() {
  static const double ratio = [] {
    if (cpu_isa_supported() < Isa::avx512_bf16) return 0.0;
    // The two loops alternate, and each keeps its best round, so a round that the clock ramp or
    // another process slowed counts for neither. 2^14 steps are about 50 microseconds each.
    constexpr int kRounds = 5;
    constexpr std::int64_t kSteps = std::int64_t{1} << 14;
    const PeakLoop fma = f32_fma_loop(Isa::avx512), dot = bf16_dot_loop();
    double best_fma = 0, best_dot = 0;
    for (int round = 0; round < kRounds; ++round) {
      best_fma = std::max(best_fma, one_thread_gflops(fma, kSteps));
      best_dot = std::max(best_dot, one_thread_gflops(dot, kSteps));
    }
    return best_dot / best_fma;
  }();
  return ratio;
}

Isa choose_isa(Isa supported, const char* requested, double bf16_dot_rate_over_fma) {
  if (requested == nullptr || *requested == '\0') {
    if (supported == Isa::avx512_bf16 && bf16_dot_rate_over_fma < 1.0) return Isa::avx512;
    return supported;
  }
  for (Isa isa : {Isa::generic, Isa::avx2, Isa::avx512, Isa::avx512_bf16}) {
    if (requested == std::string(isa_name(isa))) return std::min(isa, supported);
  }
  fail("EMBER_CPU_ISA: expected generic, avx2, avx512 or avx512_bf16, got '", requested, "'");
}

Isa cpu_isa() {
  static const Isa chosen = [] {
    const char* requested = std::getenv("EMBER_CPU_ISA");
    const bool measure = cpu_isa_supported() == Isa::avx512_bf16 && (requested == nullptr || *requested == '\0');
    return choose_isa(cpu_isa_supported(), requested, measure ? bf16_dot_rate_over_fma() : 0.0);
  }();
  return chosen;
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::generic: return "generic";
    case Isa::avx2: return "avx2";
    case Isa::avx512: return "avx512";
    case Isa::avx512_bf16: return "avx512_bf16";
  }
  return "?";
}

}  // namespace ember::kernels::cpu
