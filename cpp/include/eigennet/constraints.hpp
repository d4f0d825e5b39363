// Keras's weight constraints, applied to a weight after each optimizer step that updated it
// (Keras's optimizer.apply): MaxNorm, MinMaxNorm and UnitNorm rescale the weight's slices
// whose norm they bound (the norm taken over `axes`), NonNeg zeroes its negative values.
#pragma once

#include <cstdint>
#include <vector>

#include "eigennet/tensor.hpp"

namespace eigennet {

struct Constraint {
  enum class Kind : std::uint8_t { None, MaxNorm, MinMaxNorm, NonNeg, UnitNorm };
  Kind kind = Kind::None;
  double min_value = 0, max_value = 0, rate = 1;
  double epsilon = 1e-7;    // Keras's backend.epsilon() when the constraint was set
  std::vector<Index> axes;  // reduced by the norm; negative ones count from the last

  bool active() const { return kind != Kind::None; }
  // Throws std::invalid_argument when an axis is outside a weight of this rank.
  void check_rank(Index rank) const;
  // Applies the constraint in place to a weight of this shape (row-major).
  template <class T>
  void apply(T* w, const Shape& shape) const;
};

}  // namespace eigennet
