// Bindings of the shape layers (Reshape/Flatten) and Embedding.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "arrays.hpp"
#include "eigennet/layers/embedding.hpp"
#include "eigennet/layers/reshape.hpp"

namespace py = pybind11;

namespace eigennet::bindings {
namespace {

template <class T>
void bind_basic_layers_typed(py::module_& m) {
  const std::string sfx = std::string("_") + dtype_name<T>();
  py::class_<Reshape<T>, Layer<T>, std::shared_ptr<Reshape<T>>>(m, ("Reshape" + sfx).c_str())
      .def(py::init<Shape>(), py::arg("target_shape"));
  py::class_<Embedding<T>, Layer<T>, std::shared_ptr<Embedding<T>>>(m, ("Embedding" + sfx).c_str())
      .def(py::init<Index, Index>(), py::arg("input_dim"), py::arg("output_dim"));
}

}  // namespace

void bind_basic_layers(py::module_& m) {
  bind_basic_layers_typed<float>(m);
  bind_basic_layers_typed<double>(m);
}

}  // namespace eigennet::bindings
