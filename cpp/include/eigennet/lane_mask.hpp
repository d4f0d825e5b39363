// The AVX-512 mask of the first n of 16 lanes (all of them for n >= 16, none for n <= 0): the
// loads and stores of a row's last, partial vector in the hand-written kernels.
#pragma once

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#include "eigennet/tensor.hpp"

namespace eigennet {

inline __mmask16 first_lanes(Index n) {
  return n >= 16 ? __mmask16(0xFFFF) : n <= 0 ? __mmask16(0) : __mmask16((1u << n) - 1);
}

}  // namespace eigennet
#endif
