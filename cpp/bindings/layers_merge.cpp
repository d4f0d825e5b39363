// Merge layers (several inputs) and the advanced activation layers, bound once per dtype
// (suffix _float32/_float64).
#include <pybind11/stl.h>

#include <optional>

#include "arrays.hpp"
#include "eigennet/layers/activation_layers.hpp"
#include "eigennet/layers/merge.hpp"

namespace eigennet::bindings {

namespace {

template <class T>
typename ElementwiseActivation<T>::Kind activation_kind(const std::string& kind) {
  using Kind = typename ElementwiseActivation<T>::Kind;
  if (kind == "relu") return Kind::Relu;
  if (kind == "elu") return Kind::Elu;
  if (kind == "identity") return Kind::Identity;
  throw std::invalid_argument("unknown element-wise activation '" + kind + "'");
}

template <class T>
void bind_merge_layers_typed(py::module_& m) {
  const std::string sfx = std::string("_") + dtype_name<T>();
  py::class_<ElementwiseMerge<T>, Layer<T>, std::shared_ptr<ElementwiseMerge<T>>>(
      m, ("ElementwiseMerge" + sfx).c_str())
      .def(py::init([](const std::string& op) {
             return std::make_shared<ElementwiseMerge<T>>(merge_op_from_name(op));
           }),
           py::arg("op"));
  py::class_<Concatenate<T>, Layer<T>, std::shared_ptr<Concatenate<T>>>(
      m, ("Concatenate" + sfx).c_str())
      .def(py::init<Index>(), py::arg("axis"));
  py::class_<Dot<T>, Layer<T>, std::shared_ptr<Dot<T>>>(m, ("Dot" + sfx).c_str())
      .def(py::init<Index, Index, bool>(), py::arg("axis_a"), py::arg("axis_b"),
           py::arg("normalize"));

  // max_value None: no maximum.
  py::class_<ElementwiseActivation<T>, Layer<T>, std::shared_ptr<ElementwiseActivation<T>>>(
      m, ("ElementwiseActivation" + sfx).c_str())
      .def(py::init([](const std::string& kind, double negative_slope,
                       std::optional<double> max_value, double threshold, double alpha) {
             return std::make_shared<ElementwiseActivation<T>>(
                 activation_kind<T>(kind), negative_slope,
                 max_value.value_or(ElementwiseActivation<T>::kNoMax), threshold, alpha);
           }),
           py::arg("kind"), py::arg("negative_slope") = 0.0, py::arg("max_value") = py::none(),
           py::arg("threshold") = 0.0, py::arg("alpha") = 1.0);
  py::class_<PReLU<T>, Layer<T>, std::shared_ptr<PReLU<T>>>(m, ("PReLU" + sfx).c_str())
      .def(py::init<std::vector<Index>>(), py::arg("shared_axes"));
  py::class_<Softmax<T>, Layer<T>, std::shared_ptr<Softmax<T>>>(m, ("Softmax" + sfx).c_str())
      .def(py::init<std::vector<Index>>(), py::arg("axes"));

  // Test hook: one training forward and backward of a copy of a built layer on one batch per
  // input, returning (y, parameter gradient, [input gradients]).
  m.def(("layer_vjp_inputs" + sfx).c_str(),
        [](const Layer<T>& layer, const std::vector<Array<T>>& xs, const Array<T>& dy) {
          if (!layer.built() || xs.size() != layer.input_shapes().size())
            throw std::invalid_argument("layer_vjp_inputs: one batch per input of a built layer");
          std::vector<ConstMatrixMap<T>> maps;
          for (size_t i = 0; i < xs.size(); ++i) {
            maps.push_back(as_batch(xs[i]));
            if (maps[i].cols() != shape_size(layer.input_shapes()[i]) ||
                maps[i].rows() != maps[0].rows())
              throw std::invalid_argument("layer_vjp_inputs: input " + std::to_string(i) +
                                          " does not match the layer's input shape");
          }
          const Index rows = maps[0].rows(), out = shape_size(layer.output_shape());
          if (dy.size() != rows * out)
            throw std::invalid_argument("layer_vjp_inputs: dy does not match the output");
          Array<T> y({rows, out}), grad_y({rows, out}), param_grad({layer.param_count()});
          std::copy_n(dy.data(), dy.size(), grad_y.mutable_data());
          std::vector<Array<T>> grads;
          std::vector<MatrixMap<T>> grad_maps;
          for (const auto& x : maps) {
            grads.emplace_back(std::vector<py::ssize_t>{rows, x.cols()});
            grad_maps.emplace_back(grads.back().mutable_data(), rows, x.cols());
          }
          std::vector<MatrixMap<T>*> grad_ptrs;
          for (auto& g : grad_maps) grad_ptrs.push_back(&g);
          {
            py::gil_scoped_release release;
            auto copy = layer.clone();
            MatrixMap<T> ys(y.mutable_data(), rows, out), gys(grad_y.mutable_data(), rows, out);
            copy->forward_inputs(maps.data(), maps.size(), ys, true);
            copy->backward_inputs(maps.data(), maps.size(), ConstMatrixMap<T>(ys.data(), rows, out),
                                  gys, param_grad.mutable_data(), grad_ptrs.data());
          }
          return py::make_tuple(y, param_grad, grads);
        });
}

}  // namespace

void bind_merge_layers(py::module_& m) {
  bind_merge_layers_typed<float>(m);
  bind_merge_layers_typed<double>(m);
}

}  // namespace eigennet::bindings
