// Input checks run on whole user arrays before training, so they must cost one memory pass.
#pragma once

#include <stdexcept>
#include <string>

#include "eigennet/tensor.hpp"

namespace eigennet {

// Thrown by a layer whose computation cannot carry NaN or inf (int8 quantization) when its
// input holds one: `row` is the first such row of that input. predict() names the sample of
// the model's input instead when the input itself holds it (Layer::checks_input_finite).
class NonFiniteRows : public std::invalid_argument {
 public:
  NonFiniteRows(const std::string& message, Index row)
      : std::invalid_argument(message), row_(row) {}
  Index row() const { return row_; }

 private:
  Index row_;
};

// Index of the first non-finite value (NaN or +-inf) in data[0..n), or -1 when all are finite.
template <class T>
Index first_non_finite(const T* data, Index n);

}  // namespace eigennet
