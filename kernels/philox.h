#pragma once
// Philox 4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11).
//
// A counter-based generator: the 4 words for counter c under key k are a pure function of
// (k, c), so element i of a random tensor can be computed by any thread on any device in any
// order. ember maps element i of a draw to counter (offset + i / 4), word i % 4 (uniform) and
// counter (offset + i / 2), words 2*(i%2) and 2*(i%2)+1 (normal), on the CPU and on the GPU.
#include <array>
#include <cmath>
#include <cstdint>

#include "kernels/host_device.h"

namespace ember::kernels {

struct PhiloxBlock {
  std::uint32_t word[4];
};

EMBER_HOST_DEVICE inline PhiloxBlock philox4x32_10(std::uint64_t key, std::uint64_t counter) {
  constexpr std::uint32_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;
  constexpr std::uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;
  std::uint32_t c0 = static_cast<std::uint32_t>(counter), c1 = static_cast<std::uint32_t>(counter >> 32);
  std::uint32_t c2 = 0, c3 = 0;
  std::uint32_t k0 = static_cast<std::uint32_t>(key), k1 = static_cast<std::uint32_t>(key >> 32);
  for (int round = 0; round < 10; ++round) {
    const std::uint64_t p0 = static_cast<std::uint64_t>(kMul0) * c0;
    const std::uint64_t p1 = static_cast<std::uint64_t>(kMul1) * c2;
    const std::uint32_t hi0 = static_cast<std::uint32_t>(p0 >> 32), lo0 = static_cast<std::uint32_t>(p0);
    const std::uint32_t hi1 = static_cast<std::uint32_t>(p1 >> 32), lo1 = static_cast<std::uint32_t>(p1);
    c0 = hi1 ^ c1 ^ k0;
    c1 = lo1;
    c2 = hi0 ^ c3 ^ k1;
    c3 = lo0;
    k0 += kWeyl0;  // the key schedule: a Weyl sequence
    k1 += kWeyl1;
  }
  return {{c0, c1, c2, c3}};
}

// A float in [0, 1) from the top 24 bits of a word (every value exactly representable).
EMBER_HOST_DEVICE inline float uniform_from_bits(std::uint32_t bits) {
  return static_cast<float>(bits >> 8) * (1.0f / 16777216.0f);
}

// Element i of a uniform [0, 1) draw that started at `offset`.
EMBER_HOST_DEVICE inline float philox_uniform(std::uint64_t seed, std::uint64_t offset, std::uint64_t i) {
  return uniform_from_bits(philox4x32_10(seed, offset + i / 4).word[i % 4]);
}

// Element i of a standard normal draw that started at `offset` (Box-Muller on two words).
EMBER_HOST_DEVICE inline float philox_normal(std::uint64_t seed, std::uint64_t offset, std::uint64_t i) {
  const PhiloxBlock block = philox4x32_10(seed, offset + i / 2);
  const unsigned pair = static_cast<unsigned>(i % 2) * 2;
  // u1 in (0, 1] so the log is finite; u2 in [0, 1).
  const float u1 = (static_cast<float>(block.word[pair] >> 8) + 1.0f) * (1.0f / 16777216.0f);
  const float u2 = uniform_from_bits(block.word[pair + 1]);
  return std::sqrt(-2.0f * std::log(u1)) * std::cos(6.2831853071795864f * u2);
}

// Counters a draw of n elements consumes, so the next draw starts after it.
EMBER_HOST_DEVICE inline std::uint64_t philox_uniform_counters(std::uint64_t n) { return (n + 3) / 4; }
EMBER_HOST_DEVICE inline std::uint64_t philox_normal_counters(std::uint64_t n) { return (n + 1) / 2; }

}  // namespace ember::kernels
