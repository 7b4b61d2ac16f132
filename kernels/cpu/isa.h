#pragma once
// Which vector instructions the CPU kernels use, chosen at run time, so that one build runs on
// any x86-64 and still uses the widest instructions the machine has (the GEMM micro-kernels
// are compiled for each; kernels/cpu/gemm.cpp).
namespace ember::kernels::cpu {

// In increasing order: each includes the ones before it.
enum class Isa {
  generic,      // any x86-64 (SSE2)
  avx2,         // AVX2 + FMA (2013 on)
  avx512,       // AVX-512 F
  avx512_bf16,  // AVX-512 F + the bf16 dot products (VDPBF16PS)
};

// The best variant this CPU has, capped by the environment variable EMBER_CPU_ISA (generic,
// avx2, avx512 or avx512_bf16) when it is set: EMBER_CPU_ISA=generic runs the portable kernels
// on any machine, as CI does to keep them correct. Read once; an unknown value is an Error.
Isa cpu_isa();
// The best variant this CPU has, whatever EMBER_CPU_ISA says (a bench's hardware limit).
Isa cpu_isa_supported();
const char* isa_name(Isa isa);

}  // namespace ember::kernels::cpu
