// Thread control. Every parallel loop in the core asks parallel_for_worth() first: threads
// slow down small work, so loops below a grain size run serially.
#pragma once

#include "eigennet/tensor.hpp"

namespace eigennet {

// Sets the threads of the core's OpenMP loops and products (see gemm.hpp). n >= 1.
void set_num_threads(int n);
int get_num_threads();

// Elements below which an element-wise loop stays on one thread.
constexpr Index kParallelGrain = 1 << 15;

inline bool parallel_for_worth(Index n) { return n >= kParallelGrain && get_num_threads() > 1; }

}  // namespace eigennet
