// Transposed convolutions and TimeDistributed, bound once per dtype (suffix _float32/_float64).
#include <pybind11/stl.h>

#include "arrays.hpp"
#include "eigennet/layers/conv_transpose.hpp"
#include "eigennet/layers/time_distributed.hpp"

namespace eigennet::bindings {

namespace {

template <class T>
void bind_more_layers_typed(py::module_& m) {
  const std::string sfx = std::string("_") + dtype_name<T>();
  py::class_<ConvTranspose<T>, Layer<T>, std::shared_ptr<ConvTranspose<T>>>(
      m, ("ConvTranspose" + sfx).c_str())
      .def(py::init([](int rank, Index filters, std::vector<Index> kernel_size,
                       std::vector<Index> strides, const std::string& padding,
                       std::vector<Index> output_padding, std::vector<Index> dilation_rate,
                       const std::string& activation, bool use_bias) {
             return std::make_shared<ConvTranspose<T>>(
                 rank, filters, std::move(kernel_size), std::move(strides),
                 padding_from_name(padding), std::move(output_padding), std::move(dilation_rate),
                 activation_from_name(activation), use_bias);
           }),
           py::arg("rank"), py::arg("filters"), py::arg("kernel_size"), py::arg("strides"),
           py::arg("padding"), py::arg("output_padding"), py::arg("dilation_rate"),
           py::arg("activation"), py::arg("use_bias"));
  py::class_<TimeDistributed<T>, Layer<T>, std::shared_ptr<TimeDistributed<T>>>(
      m, ("TimeDistributed" + sfx).c_str())
      .def(py::init<const std::shared_ptr<Layer<T>>&>(), py::arg("inner"));
}

}  // namespace

void bind_more_layers(py::module_& m) {
  bind_more_layers_typed<float>(m);
  bind_more_layers_typed<double>(m);
}

}  // namespace eigennet::bindings
