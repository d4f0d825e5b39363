// The column matrix of a sliding window, shared by the convolutions and their transposes (see
// conv.hpp): im2col copies each output pixel's receptive field (taps * channels values, zeros
// in the padding) to one row of a (pixels, taps * channels) matrix; col2im, its adjoint, adds
// such rows back to the positions they came from. Both walk count samples of w.in_pixels() *
// w.channels values, in any rank (a volume's (plane, row) pairs are the rows, see window.hpp).
// for_chunks cuts a batch into the cache-sized chunks of samples the layers run.
#pragma once

#include <omp.h>

#include "eigennet/layers/window.hpp"

namespace eigennet {

// Elements of one chunk's column (or output) matrix: 1 MB in float, so that im2col, the
// product and the activation of a chunk of samples run in the core's L2 cache. W5's second
// convolution (11x11 pixels, 288 taps) takes 7 samples per chunk.
inline constexpr Index kChunkElements = Index(1) << 18;
// Groups of chunks, each with its own kernel-gradient accumulator (see for_chunks): enough
// for the threads of a large machine to share the batch, few enough to stay small.
inline constexpr Index kMaxGroups = 16;
inline constexpr Index kGroupGradientElements = Index(1) << 22;

template <class T>
void im2col(const Window& w, const T* x, Index count, T* cols);
// Overwrites dx (count samples) with the sum of the columns' entries at their positions.
template <class T>
void col2im(const Window& w, const T* cols, Index count, T* dx);

// Runs fn(first, count, group, slot) over the chunks of a batch of n samples. The batch is
// cut into `groups` contiguous runs of samples, each into chunks of at most `chunk` samples;
// the cut depends on n, chunk and groups only, never on the thread count, and each group's
// chunks run in order. So a gradient accumulated per group and the groups summed in order
// give the same bits on any number of threads. With slots > 1 the groups are spread over
// that many threads (static schedule: equal runs of groups) and `slot` names the thread's
// scratch; otherwise one thread walks them (slot 0) and each product uses the threads itself.
template <class Fn>
void for_chunks(Index n, Index chunk, Index groups, int slots, Fn&& fn) {
  auto run_group = [&](Index g, int slot) {
    const Index g0 = g * n / groups, size = (g + 1) * n / groups - g0;
    const Index pieces = (size + chunk - 1) / chunk;
    for (Index c = 0; c < pieces; ++c) {
      const Index first = g0 + c * size / pieces;
      fn(first, g0 + (c + 1) * size / pieces - first, g, slot);
    }
  };
  if (slots < 2) {
    for (Index g = 0; g < groups; ++g) run_group(g, 0);
    return;
  }
#pragma omp parallel for schedule(static) num_threads(slots)
  for (Index g = 0; g < groups; ++g) run_group(g, omp_get_thread_num());
}

// Short copies (a 3x3 kernel on one channel copies 3 values a row) inline, with no call to
// memmove/memset.
template <class T>
inline void copy_short(const T* src, Index n, T* dst) {
  for (Index i = 0; i < n; ++i) dst[i] = src[i];
}
template <class T>
inline void zero_short(T* dst, Index n) {
  for (Index i = 0; i < n; ++i) dst[i] = T(0);
}

}  // namespace eigennet
