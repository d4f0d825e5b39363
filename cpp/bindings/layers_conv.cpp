// Convolution and pooling layers, bound once per dtype (suffix _float32/_float64).
#include <pybind11/stl.h>

#include "arrays.hpp"
#include "eigennet/layers/conv.hpp"
#include "eigennet/layers/pooling.hpp"

namespace eigennet::bindings {

namespace {

PoolMode pool_mode(const std::string& mode) {
  if (mode == "max") return PoolMode::Max;
  if (mode == "average") return PoolMode::Average;
  throw std::invalid_argument("pooling mode must be 'max' or 'average', got '" + mode + "'");
}

template <class T>
void bind_conv_layers_typed(py::module_& m) {
  const std::string sfx = std::string("_") + dtype_name<T>();
  py::class_<Conv<T>, Layer<T>, std::shared_ptr<Conv<T>>>(m, ("Conv" + sfx).c_str())
      .def(py::init([](int rank, Index filters, std::vector<Index> kernel_size,
                       std::vector<Index> strides, const std::string& padding,
                       std::vector<Index> dilation_rate, const std::string& activation,
                       bool use_bias, bool int8) {
             return std::make_shared<Conv<T>>(rank, filters, std::move(kernel_size),
                                              std::move(strides), padding_from_name(padding),
                                              std::move(dilation_rate),
                                              activation_from_name(activation), use_bias, int8);
           }),
           py::arg("rank"), py::arg("filters"), py::arg("kernel_size"), py::arg("strides"),
           py::arg("padding"), py::arg("dilation_rate"), py::arg("activation"), py::arg("use_bias"),
           py::arg("int8") = false);
  py::class_<Pool<T>, Layer<T>, std::shared_ptr<Pool<T>>>(m, ("Pool" + sfx).c_str())
      .def(py::init([](int rank, const std::string& mode, std::vector<Index> pool_size,
                       std::vector<Index> strides, const std::string& padding) {
             return std::make_shared<Pool<T>>(rank, pool_mode(mode), std::move(pool_size),
                                              std::move(strides), padding_from_name(padding));
           }),
           py::arg("rank"), py::arg("mode"), py::arg("pool_size"), py::arg("strides"),
           py::arg("padding"));
  py::class_<GlobalPool<T>, Pool<T>, std::shared_ptr<GlobalPool<T>>>(m,
                                                                     ("GlobalPool" + sfx).c_str())
      .def(py::init([](int rank, const std::string& mode, bool keepdims) {
             return std::make_shared<GlobalPool<T>>(rank, pool_mode(mode), keepdims);
           }),
           py::arg("rank"), py::arg("mode"), py::arg("keepdims"));

  // Test hook: one training forward and backward of a built layer on a batch, returning
  // (y, parameter gradient, input gradient) for checks against the NumPy references.
  m.def(("layer_vjp" + sfx).c_str(), [](Layer<T>& layer, const Array<T>& x, const Array<T>& dy) {
    auto xs = as_batch(x);
    const Index rows = xs.rows(), out = shape_size(layer.output_shape());
    if (!layer.built() || xs.cols() != shape_size(layer.input_shape()) || dy.size() != rows * out)
      throw std::invalid_argument("layer_vjp: the layer must be built for x, dy match y");
    Array<T> y({rows, out}), grad_y({rows, out}), param_grad({layer.param_count()}),
        grad_x({rows, xs.cols()});
    std::copy_n(dy.data(), dy.size(), grad_y.mutable_data());
    {
      py::gil_scoped_release release;
      MatrixMap<T> ys(y.mutable_data(), rows, out), gys(grad_y.mutable_data(), rows, out);
      MatrixMap<T> gx(grad_x.mutable_data(), rows, xs.cols());
      layer.forward(xs, ys, true);
      layer.backward(xs, ConstMatrixMap<T>(ys.data(), rows, out), gys, param_grad.mutable_data(),
                     &gx);
    }
    return py::make_tuple(y, param_grad, grad_x);
  });
}

}  // namespace

void bind_conv_layers(py::module_& m) {
  bind_conv_layers_typed<float>(m);
  bind_conv_layers_typed<double>(m);
}

}  // namespace eigennet::bindings
