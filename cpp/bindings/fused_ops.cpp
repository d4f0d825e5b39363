// Fused ops the graph builder makes from several keras.ops (DenseOp), bound once per dtype.
#include <pybind11/stl.h>

#include <optional>

#include "arrays.hpp"
#include "eigennet/ops/dense_op.hpp"

namespace eigennet::bindings {

namespace {

template <class T>
void bind_typed(py::module_& m) {
  const std::string sfx = std::string("_") + dtype_name<T>();
  // bias None: no bias. activation: a Keras activation name.
  py::class_<DenseOp<T>, Op<T>, std::shared_ptr<DenseOp<T>>>(m, ("DenseOp" + sfx).c_str())
      .def(py::init([](const Shape& x, const Shape& kernel, std::optional<Shape> bias,
                       const std::string& activation) {
             return std::make_shared<DenseOp<T>>(x, kernel, bias ? &*bias : nullptr,
                                                 activation_from_name(activation));
           }),
           py::arg("x"), py::arg("kernel"), py::arg("bias"), py::arg("activation"));
}

}  // namespace

void bind_fused_ops(py::module_& m) {
  bind_typed<float>(m);
  bind_typed<double>(m);
}

}  // namespace eigennet::bindings
