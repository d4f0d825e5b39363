// Python's description of a weight constraint (eigennet.constraints.native): None, or
// (kind, min_value, max_value, rate, epsilon, axes) with kind "max_norm", "min_max_norm",
// "non_neg" or "unit_norm".
#pragma once

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "eigennet/constraints.hpp"

namespace eigennet::bindings {

inline Constraint constraint_from(const pybind11::object& spec) {
  Constraint c;
  if (spec.is_none()) return c;
  const auto [kind, min_value, max_value, rate, epsilon, axes] =
      spec.cast<std::tuple<std::string, double, double, double, double, std::vector<Index>>>();
  if (kind == "max_norm")
    c.kind = Constraint::Kind::MaxNorm;
  else if (kind == "min_max_norm")
    c.kind = Constraint::Kind::MinMaxNorm;
  else if (kind == "non_neg")
    c.kind = Constraint::Kind::NonNeg;
  else if (kind == "unit_norm")
    c.kind = Constraint::Kind::UnitNorm;
  else
    throw std::invalid_argument("unknown constraint kind: " + kind);
  c.min_value = min_value;
  c.max_value = max_value;
  c.rate = rate;
  c.epsilon = epsilon;
  c.axes = axes;
  return c;
}

}  // namespace eigennet::bindings
