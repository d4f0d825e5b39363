// Thread control. Every parallel loop in the core asks parallel_for_worth() first: threads
// slow down small work, so loops below a grain size run serially.
#pragma once

#include "eigennet/tensor.hpp"

namespace eigennet {

// The most threads the core runs: libgomp aborts when it cannot create the threads asked
// for, so a count above this is refused (set_num_threads) or lowered (OMP_NUM_THREADS, by
// limit_num_threads at import).
constexpr int kMaxThreads = 1024;

// Sets the threads of the core's OpenMP loops and products (see gemm.hpp), 1..kMaxThreads.
void set_num_threads(int n);
int get_num_threads();
// Lowers OpenMP's thread count to kMaxThreads when the environment asked for more.
void limit_num_threads();

// Elements below which a memory-bound element-wise pass (activations, checks) stays on one
// thread: ~5 us of work at 32k elements, less than entering a parallel region costs.
constexpr Index kParallelGrain = 1 << 18;
// The optimizer rules do more per element (sqrt, division): they pay off from here.
constexpr Index kOptimizerParallelGrain = 1 << 16;

inline bool parallel_for_worth(Index n, Index grain = kParallelGrain) {
  return n >= grain && get_num_threads() > 1;
}

}  // namespace eigennet
