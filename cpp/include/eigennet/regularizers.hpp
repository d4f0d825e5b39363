// L1/L2 penalties (Keras: l1 * sum|x| + l2 * sum x^2). Weight penalties add to the loss and
// their gradient to the weight gradient; an activity penalty on a layer's output is divided by
// the batch size, as Keras 3 does.
#pragma once

#include <cmath>

#include "eigennet/tensor.hpp"

namespace eigennet {

struct Regularizer {
  double l1 = 0, l2 = 0;
  bool active() const { return l1 != 0 || l2 != 0; }

  // Returns scale * penalty(x); when grad is non-null adds scale * d penalty / dx to it.
  template <class T>
  double apply(const T* x, Index n, T* grad, double scale = 1) const {
    double abs_sum = 0, sq_sum = 0;
    const T g1 = T(l1 * scale), g2 = T(2 * l2 * scale);
    for (Index i = 0; i < n; ++i) {
      abs_sum += std::abs(double(x[i]));
      sq_sum += double(x[i]) * double(x[i]);
      if (grad) grad[i] += g1 * T((x[i] > 0) - (x[i] < 0)) + g2 * x[i];
    }
    return scale * (l1 * abs_sum + l2 * sq_sum);
  }
};

}  // namespace eigennet
