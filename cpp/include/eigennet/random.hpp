// Counter-based random numbers: value i of draw k under a seed is a pure function of
// (seed, k, i), so results do not depend on how work is split between threads.
#pragma once

#include <cstdint>

namespace eigennet {

inline uint64_t mix64(uint64_t z) {  // splitmix64's finaliser
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// Uniform in [0, 1) with 24 random bits (exact in float and double).
inline float uniform01(uint64_t seed, uint64_t draw, uint64_t index) {
  const uint64_t bits = mix64(seed ^ mix64(draw * 0x9E3779B97F4A7C15ULL + index));
  return float(bits >> 40) * (1.0f / 16777216.0f);
}

}  // namespace eigennet
