// The choice of the CPU kernels' variant (kernels/cpu/isa.h): the rule by a table, and the
// measurement it rests on by what any CPU must give.
#include "helpers.h"
#include "kernels/cpu/isa.h"
#include "kernels/cpu/peak_loops.h"

using ember::kernels::cpu::Isa;
using ember::kernels::cpu::choose_isa;

TEST_CASE("cpu isa: unset, the bf16 dot products are chosen only where they beat the f32 FMAs") {
  // Intel's AVX512-BF16 before AMX runs them at half the f32 rate; AMD's Zen 4 and 5 at twice.
  CHECK(choose_isa(Isa::avx512_bf16, nullptr, 0.5) == Isa::avx512);
  CHECK(choose_isa(Isa::avx512_bf16, nullptr, 2.0) == Isa::avx512_bf16);
  CHECK(choose_isa(Isa::avx512_bf16, "", 0.5) == Isa::avx512);  // an empty variable is unset
  // Without the dot products there is nothing to measure: the best variant the CPU has.
  CHECK(choose_isa(Isa::avx512, nullptr, 0.0) == Isa::avx512);
  CHECK(choose_isa(Isa::avx2, nullptr, 0.0) == Isa::avx2);
  CHECK(choose_isa(Isa::generic, nullptr, 0.0) == Isa::generic);
}

TEST_CASE("cpu isa: EMBER_CPU_ISA names the variant, capped by what the CPU has") {
  // Asked for, the dot products run even where they are slower (the suite's third run tests them so).
  CHECK(choose_isa(Isa::avx512_bf16, "avx512_bf16", 0.5) == Isa::avx512_bf16);
  CHECK(choose_isa(Isa::avx512_bf16, "avx512", 2.0) == Isa::avx512);
  CHECK(choose_isa(Isa::avx512_bf16, "generic", 2.0) == Isa::generic);
  CHECK(choose_isa(Isa::avx2, "avx512_bf16", 0.0) == Isa::avx2);
  CHECK(choose_isa(Isa::generic, "avx2", 0.0) == Isa::generic);
  CHECK(ember::testing::error_of([] { (void)choose_isa(Isa::avx512, "avx9", 0.0); }) ==
        "EMBER_CPU_ISA: expected generic, avx2, avx512 or avx512_bf16, got 'avx9'");
}

TEST_CASE("cpu isa: the peak loops measure a positive rate, and the dot products one within 8x the FMAs") {
  using namespace ember::kernels::cpu;
  CHECK(one_thread_gflops(f32_fma_loop(cpu_isa_supported()), 1 << 12) > 0);
  const double ratio = bf16_dot_rate_over_fma();
  if (cpu_isa_supported() == Isa::avx512_bf16) {
    // One VDPBF16PS does twice an FMA's multiply-adds; no CPU issues it at 4x or at 1/16 the rate.
    CHECK(ratio > 0.125);
    CHECK(ratio < 8.0);
  } else {
    CHECK(ratio == 0.0);
  }
}
