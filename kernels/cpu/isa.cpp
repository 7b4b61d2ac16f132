#include "kernels/cpu/isa.h"

#include <cstdlib>
#include <string>

#include "kernels/error.h"

namespace ember::kernels::cpu {

namespace {

constexpr Isa kAll[] = {Isa::generic, Isa::avx2, Isa::avx512, Isa::avx512_bf16};

Isa capped_by_environment(Isa supported) {
  const char* requested = std::getenv("EMBER_CPU_ISA");
  if (requested == nullptr || *requested == '\0') return supported;
  for (Isa isa : kAll) {
    if (requested == std::string(isa_name(isa))) return isa < supported ? isa : supported;
  }
  fail("EMBER_CPU_ISA: expected generic, avx2, avx512 or avx512_bf16, got '", requested, "'");
}

}  // namespace

Isa cpu_isa_supported() {
  static const Isa supported = [] {
    if (__builtin_cpu_supports("avx512f")) {
      return __builtin_cpu_supports("avx512bf16") ? Isa::avx512_bf16 : Isa::avx512;
    }
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? Isa::avx2 : Isa::generic;
  }();
  return supported;
}

Isa cpu_isa() {
  static const Isa chosen = capped_by_environment(cpu_isa_supported());
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
