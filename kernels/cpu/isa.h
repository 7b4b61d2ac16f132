#pragma once
// Which vector instructions the CPU kernels use, chosen at run time, so that one build runs on
// any x86-64 and still uses the fastest instructions the machine has (the GEMM micro-kernels
// are compiled for each; kernels/cpu/gemm.cpp).
namespace ember::kernels::cpu {

// In increasing order: each includes the ones before it.
enum class Isa {
  generic,      // any x86-64 (SSE2)
  avx2,         // AVX2 + FMA (2013 on)
  avx512,       // AVX-512 F; bf16 is widened to f32 for the FMAs
  avx512_bf16,  // AVX-512 F + the bf16 dot products (VDPBF16PS)
};

// The variant the kernels use, read once. EMBER_CPU_ISA (generic, avx2, avx512 or avx512_bf16)
// names it, capped by what the CPU has: EMBER_CPU_ISA=generic runs the portable kernels on any
// machine, as CI does to keep them correct; an unknown value is an Error. Unset, it is the best
// variant the CPU has, except that avx512_bf16 is taken only where the dot products are measured
// to be faster than the f32 FMAs: some CPUs (Intel's before AMX) run VDPBF16PS at half the f32
// rate, where widening bf16 to f32 is the faster path.
Isa cpu_isa();
// The best variant this CPU has, whatever EMBER_CPU_ISA says (a bench's hardware limit).
Isa cpu_isa_supported();
const char* isa_name(Isa isa);

// The FLOP rate of the bf16 dot products over that of the f32 FMAs on one core of this CPU,
// measured once (a few milliseconds), or 0 where the CPU lacks the dot products.
double bf16_dot_rate_over_fma();
// The rule of cpu_isa(), apart from the machine: `requested` is EMBER_CPU_ISA's value (null or
// empty when unset), `bf16_dot_rate_over_fma` the measured ratio (used only when the CPU
// supports avx512_bf16 and nothing is requested).
Isa choose_isa(Isa supported, const char* requested, double bf16_dot_rate_over_fma);

}  // namespace ember::kernels::cpu
