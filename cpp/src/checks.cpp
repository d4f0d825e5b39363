#include "eigennet/checks.hpp"

#include <algorithm>
#include <cmath>

#include "eigennet/threading.hpp"

namespace eigennet {
namespace {

// x * 0 is 0 for finite x and NaN for NaN or inf, so the sum is NaN exactly when a value is
// not finite: a branch-free loop that vectorises (no fast-math: the NaN must survive).
template <class T>
bool block_finite(const T* data, Index n) {
  T acc = 0;
#pragma omp simd reduction(+ : acc)
  for (Index i = 0; i < n; ++i) acc += data[i] * T(0);
  return acc == T(0);
}

}  // namespace

template <class T>
Index first_non_finite(const T* data, Index n) {
  constexpr Index kBlock = 1 << 16;
  const Index blocks = (n + kBlock - 1) / kBlock;
  Index first_bad_block = blocks;
#pragma omp parallel for schedule(static) \
    reduction(min : first_bad_block) if (parallel_for_worth(n))
  for (Index b = 0; b < blocks; ++b) {
    const Index start = b * kBlock;
    if (!block_finite(data + start, std::min(kBlock, n - start)))
      first_bad_block = std::min(first_bad_block, b);
  }
  if (first_bad_block == blocks) return -1;
  const Index start = first_bad_block * kBlock, end = std::min(n, start + kBlock);
  for (Index i = start; i < end; ++i)
    if (!std::isfinite(data[i])) return i;
  return -1;
}

template Index first_non_finite<float>(const float*, Index);
template Index first_non_finite<double>(const double*, Index);

}  // namespace eigennet
