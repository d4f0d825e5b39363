// Ops that eigennet makes itself rather than a keras.ops call: DenseOp (the graph builder fuses
// matmul + bias + activation into it), ModeSelectOp (a call() traced per training mode) and
// Int8MatMulOp (a quantized EinsumDense's product), bound once per dtype.
#include <pybind11/stl.h>

#include <optional>

#include "arrays.hpp"
#include "eigennet/ops/dense_op.hpp"
#include "eigennet/ops/int8_matmul.hpp"
#include "eigennet/ops/mode_select.hpp"

namespace eigennet::bindings {

namespace {

template <class T>
void bind_fused_ops_typed(py::module_& m) {
  const std::string sfx = std::string("_") + dtype_name<T>();
  // bias None: no bias. activation: a Keras activation name.
  py::class_<DenseOp<T>, Op<T>, std::shared_ptr<DenseOp<T>>>(m, ("DenseOp" + sfx).c_str())
      .def(py::init([](const Shape& x, const Shape& kernel, std::optional<Shape> bias,
                       const std::string& activation, Index contracted) {
             return std::make_shared<DenseOp<T>>(x, kernel, bias ? &*bias : nullptr,
                                                 activation_from_name(activation), contracted);
           }),
           py::arg("x"), py::arg("kernel"), py::arg("bias"), py::arg("activation"),
           py::arg("contracted") = 1);
  py::class_<ModeSelectOp<T>, Op<T>, std::shared_ptr<ModeSelectOp<T>>>(
      m, ("ModeSelectOp" + sfx).c_str())
      .def(py::init<Shape, Shape>(), py::arg("training"), py::arg("inference"));
  py::class_<Int8MatMulOp<T>, Op<T>, std::shared_ptr<Int8MatMulOp<T>>>(
      m, ("Int8MatMulOp" + sfx).c_str())
      .def(py::init<Shape, Shape, Shape, Index>(), py::arg("x"), py::arg("kernel"),
           py::arg("kernel_scale"), py::arg("contracted"));
}

}  // namespace

void bind_fused_ops(py::module_& m) {
  bind_fused_ops_typed<float>(m);
  bind_fused_ops_typed<double>(m);
}

}  // namespace eigennet::bindings
