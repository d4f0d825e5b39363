#include "eigennet/threading.hpp"

#include <omp.h>

#include <stdexcept>
#include <string>

namespace eigennet {

void set_num_threads(int n) {
  if (n < 1 || n > kMaxThreads)
    throw std::invalid_argument("num_threads must be in [1, " + std::to_string(kMaxThreads) +
                                "], got " + std::to_string(n));
  omp_set_num_threads(n);
}

void limit_num_threads() {
  if (omp_get_max_threads() > kMaxThreads) omp_set_num_threads(kMaxThreads);
}

// OpenMP's count (it honours OMP_NUM_THREADS); Eigen itself runs single-threaded.
int get_num_threads() { return omp_get_max_threads(); }

}  // namespace eigennet
