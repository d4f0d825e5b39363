// Memory-bound passes over large buffers, split between the threads in a way that does not
// change their results: a gradient copied through or scaled, a bias gradient's column sums.
#pragma once

#include <omp.h>

#include <algorithm>

#include "eigennet/threading.hpp"

namespace eigennet {

// dst[0, n) = src[0, n): a gradient passed through unchanged (the same-shape operand of an
// addition), split between the threads when large rather than copied while they idle.
template <class T>
void parallel_copy(const T* src, Index n, T* dst) {
  const int threads = get_num_threads();
  if (!parallel_for_worth(n) || omp_in_parallel()) {
    std::copy_n(src, n, dst);
    return;
  }
#pragma omp parallel for schedule(static) num_threads(threads)
  for (int t = 0; t < threads; ++t) {
    const Index first = n * t / threads, last = n * (t + 1) / threads;
    std::copy(src + first, src + last, dst + first);
  }
}

// values[0, n) *= factor (gradients unscaled after a scaled loss), split between the threads
// when large.
template <class T>
void parallel_scale(T* values, Index n, T factor) {
#pragma omp parallel for simd schedule(static) if (parallel_for_worth(n) && !omp_in_parallel())
  for (Index i = 0; i < n; ++i) values[i] *= factor;
}

// out[c] = sum over r of m[r * cols + c], each column summed in row order. Large matrices
// split their columns between the threads (whole 16-float vectors each), so that the sums do
// not depend on the thread count and the other threads do not idle through a serial pass
// (W8's feed-forward bias: 4096 x 512 values per step).
template <class T>
void column_sums(const T* m, Index rows, Index cols, T* out) {
  const auto sum_block = [&](Index c0, Index c1) {
    std::copy(m + c0, m + c1, out + c0);
    for (Index r = 1; r < rows; ++r) {
      const T* row = m + r * cols;
#pragma omp simd
      for (Index c = c0; c < c1; ++c) out[c] += row[c];
    }
  };
  if (rows <= 0) {
    std::fill_n(out, cols, T(0));
    return;
  }
  const Index blocks = std::min<Index>(get_num_threads(), cols / 16);
  if (blocks < 2 || !parallel_for_worth(rows * cols) || omp_in_parallel()) {
    sum_block(0, cols);
    return;
  }
  const Index width = (cols / blocks + 15) / 16 * 16;
#pragma omp parallel for schedule(static) num_threads(static_cast<int>(blocks))
  for (Index b = 0; b < blocks; ++b) {
    const Index c0 = std::min(cols, b * width);
    const Index c1 = b + 1 == blocks ? cols : std::min(cols, c0 + width);
    if (c0 < c1) sum_block(c0, c1);
  }
}

}  // namespace eigennet
