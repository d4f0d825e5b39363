// The AVX-512 mask of the first n of 16 (32-bit) lanes (all of them for n >= 16, none for n <= 0):
// the loads and stores of a row's last, partial vector in the hand-written kernels.
#pragma once

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#include "eigennet/tensor.hpp"

namespace eigennet {

inline __mmask16 first_lanes(Index n) {
  return n >= 16 ? __mmask16(0xFFFF) : n <= 0 ? __mmask16(0) : __mmask16((1u << n) - 1);
}

// The same for the 64 byte lanes of an AVX512BW vector.
inline __mmask64 first_bytes(Index n) {
  return n >= 64 ? ~__mmask64(0) : n <= 0 ? __mmask64(0) : (__mmask64(1) << n) - 1;
}

}  // namespace eigennet
#endif
