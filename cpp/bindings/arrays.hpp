// NumPy <-> Eigen map conversion shared by the binding files. A batch array of any rank is
// seen as (rows, features) with rows the first dimension.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <stdexcept>
#include <string>

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
