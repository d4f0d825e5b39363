#include "eigennet/threading.hpp"

#include <omp.h>

#include <stdexcept>

namespace eigennet {

void set_num_threads(int n) {
  if (n < 1) throw std::invalid_argument("num_threads must be >= 1, got " + std::to_string(n));
  omp_set_num_threads(n);
  Eigen::setNbThreads(n);
}

int get_num_threads() { return Eigen::nbThreads(); }

}  // namespace eigennet
