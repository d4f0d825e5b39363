// Bindings of the int8 quantized layers and of the int8 product (for tests and benchmarks).
#include "eigennet/layers/quantized.hpp"

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "arrays.hpp"
#include "eigennet/int8_gemm.hpp"

namespace py = pybind11;

namespace eigennet::bindings {
namespace {

template <class T>
void bind_quantized_typed(py::module_& m) {
  const std::string sfx = std::string("_") + dtype_name<T>();
  py::class_<Int8Dense<T>, Layer<T>, std::shared_ptr<Int8Dense<T>>>(m, ("Int8Dense" + sfx).c_str())
      .def(py::init([](Index units, const std::string& activation, bool use_bias) {
             return std::make_shared<Int8Dense<T>>(units, activation_from_name(activation),
                                                   use_bias);
           }),
           py::arg("units"), py::arg("activation"), py::arg("use_bias"));
  py::class_<Int8Embedding<T>, Embedding<T>, std::shared_ptr<Int8Embedding<T>>>(
      m, ("Int8Embedding" + sfx).c_str())
      .def(py::init<Index, Index>(), py::arg("input_dim"), py::arg("output_dim"));
}

}  // namespace

void bind_quantized(py::module_& m) {
  bind_quantized_typed<float>(m);
  bind_quantized_typed<double>(m);
  m.def("int8_vnni_supported", &int8_vnni_supported);
  m.def("int8_kernel", [] { return int8_kernel_name(int8_kernel_in_use()); });
  m.def(
      "int8_gemm",
      [](py::array_t<int8_t, py::array::c_style | py::array::forcecast> a,
         py::array_t<int8_t, py::array::c_style | py::array::forcecast> b,
         const std::string& kernel) {
        if (a.ndim() != 2 || b.ndim() != 2 || a.shape(1) != b.shape(0))
          throw std::invalid_argument("int8_gemm takes a (m, k) and b (k, n) int8 matrices");
        const Int8Kernel chosen = int8_kernel_from_name(kernel);
        py::array_t<int32_t> c({a.shape(0), b.shape(1)});
        {
          py::gil_scoped_release release;
          int8_gemm(a.shape(0), b.shape(1), a.shape(1), a.data(), b.data(), c.mutable_data(),
                    chosen);
        }
        return c;
      },
      py::arg("a"), py::arg("b"), py::arg("kernel") = "auto");
}

}  // namespace eigennet::bindings
