// Runs fn(first_row, row_count) over blocks of rows, in parallel only when the matrix is large.
#pragma once

#include <algorithm>

#include "eigennet/threading.hpp"

namespace eigennet {

template <class Fn>
void for_row_blocks(Index rows, Index cols, Fn&& fn) {
  if (!parallel_for_worth(rows * cols) || rows < 2) {
    fn(Index{0}, rows);
    return;
  }
  const Index threads = std::min<Index>(get_num_threads(), rows);
  const Index block = (rows + threads - 1) / threads;
#pragma omp parallel for schedule(static) num_threads(static_cast<int>(threads))
  for (Index t = 0; t < threads; ++t) {
    const Index first = t * block;
    const Index count = std::min(block, rows - first);
    if (count > 0) fn(first, count);
  }
}

}  // namespace eigennet
