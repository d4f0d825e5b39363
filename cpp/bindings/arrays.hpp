// NumPy <-> Eigen map conversion shared by the binding files. A batch array of any rank is
// seen as (rows, features) with rows the first dimension.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

#include "eigennet/tensor.hpp"

namespace eigennet::bindings {

namespace py = pybind11;

template <class T>
using Array = py::array_t<T, py::array::c_style | py::array::forcecast>;

template <class T>
ConstMatrixMap<T> as_batch(const Array<T>& a) {
  if (a.ndim() < 1) throw std::invalid_argument("expected an array of rank >= 1, got a scalar");
  const Index rows = a.shape(0);
  const Index cols = rows == 0 ? 0 : static_cast<Index>(a.size()) / rows;
  return ConstMatrixMap<T>(a.data(), rows, a.ndim() == 1 ? 1 : cols);
}

template <class T>
MatrixMap<T> as_mutable_batch(Array<T>& a) {
  const Index rows = a.ndim() == 0 ? 1 : a.shape(0);
  const Index cols = rows == 0 ? 0 : static_cast<Index>(a.size()) / rows;
  return MatrixMap<T>(a.mutable_data(), rows, a.ndim() == 1 ? 1 : cols);
}

// Rows x last-axis view, for element-wise functions applied along the last axis.
template <class T>
ConstMatrixMap<T> as_last_axis(const Array<T>& a) {
  const Index last = a.ndim() == 0 ? 1 : a.shape(a.ndim() - 1);
  return ConstMatrixMap<T>(a.data(), last == 0 ? 0 : static_cast<Index>(a.size()) / last, last);
}

template <class T>
Array<T> empty_like(const Array<T>& a) {
  return Array<T>(std::vector<py::ssize_t>(a.shape(), a.shape() + a.ndim()));
}

// Rows of equal length (e.g. one row of logs per epoch) as one (rows, columns) float64 array:
// one object for Python to hold instead of a list per row for its garbage collector to visit.
inline py::array_t<double> as_table(const std::vector<std::vector<double>>& rows) {
  const auto columns = static_cast<py::ssize_t>(rows.empty() ? 0 : rows.front().size());
  py::array_t<double> table({static_cast<py::ssize_t>(rows.size()), columns});
  double* out = table.mutable_data();
  for (const auto& row : rows) {
    if (static_cast<py::ssize_t>(row.size()) != columns)
      throw std::logic_error("as_table: rows of different lengths");
    out = std::copy(row.begin(), row.end(), out);
  }
  return table;
}

template <class T>
const char* dtype_name();
template <>
inline const char* dtype_name<float>() {
  return "float32";
}
template <>
inline const char* dtype_name<double>() {
  return "float64";
}

}  // namespace eigennet::bindings
