#include "eigennet/threading.hpp"

#include <omp.h>

#include <stdexcept>

namespace eigennet {

void set_num_threads(int n) {
  if (n < 1) throw std::invalid_argument("num_threads must be >= 1, got " + std::to_string(n));
  omp_set_num_threads(n);
}

// OpenMP's count (it honours OMP_NUM_THREADS); Eigen itself runs single-threaded.
int get_num_threads() { return omp_get_max_threads(); }

}  // namespace eigennet
