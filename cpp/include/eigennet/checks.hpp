// Input checks run on whole user arrays before training, so they must cost one memory pass.
#pragma once

#include "eigennet/tensor.hpp"

namespace eigennet {

// Index of the first non-finite value (NaN or +-inf) in data[0..n), or -1 when all are finite.
template <class T>
Index first_non_finite(const T* data, Index n);

}  // namespace eigennet
