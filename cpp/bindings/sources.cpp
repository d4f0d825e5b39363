// Sources (weights of custom layers, views of built-in layers' weights, constants of ops),
// bound once per dtype.
#include "eigennet/layers/sources.hpp"

#include <pybind11/stl.h>

#include "arrays.hpp"

namespace eigennet::bindings {

namespace {

template <class T>
void bind_sources_typed(py::module_& m) {
  const std::string sfx = std::string("_") + dtype_name<T>();
  py::class_<VariableSource<T>, Layer<T>, std::shared_ptr<VariableSource<T>>>(
      m, ("VariableSource" + sfx).c_str())
      .def(py::init<Shape, std::string, bool>(), py::arg("shape"), py::arg("name"),
           py::arg("trainable"));
  py::class_<WeightView<T>, Layer<T>, std::shared_ptr<WeightView<T>>>(m,
                                                                      ("WeightView" + sfx).c_str())
      .def(py::init<const std::shared_ptr<Layer<T>>&, size_t>(), py::arg("layer"),
           py::arg("index"));
  py::class_<ConstantSource<T>, Layer<T>, std::shared_ptr<ConstantSource<T>>>(
      m, ("ConstantSource" + sfx).c_str())
      .def(py::init([](const Array<T>& values) {
             Shape shape(values.shape(), values.shape() + values.ndim());
             return std::make_shared<ConstantSource<T>>(
                 shape, std::vector<T>(values.data(), values.data() + values.size()));
           }),
           py::arg("values"));
}

}  // namespace

void bind_sources(py::module_& m) {
  bind_sources_typed<float>(m);
  bind_sources_typed<double>(m);
}

}  // namespace eigennet::bindings
