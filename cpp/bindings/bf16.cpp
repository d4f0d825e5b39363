// Bindings of the bfloat16 product (for tests and benchmarks), its kernel choice, and the
// measured arithmetic peaks the benchmarks quote shares of.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "eigennet/amx.hpp"
#include "eigennet/arithmetic_peak.hpp"
#include "eigennet/bf16_gemm.hpp"
#include "eigennet/threading.hpp"

namespace py = pybind11;

namespace eigennet::bindings {

void bind_bf16(py::module_& m) {
  m.def("arithmetic_peak_kinds", &arithmetic_peak_kinds);
  m.def(
      "arithmetic_peak",
      [](const std::string& kind, int threads, double seconds) {
        py::gil_scoped_release release;
        return arithmetic_peak(kind, threads, seconds);
      },
      py::arg("kind"), py::arg("threads") = 1, py::arg("seconds") = 0.2);
  m.def("bf16_avx512_supported", &bf16_avx512_supported);
  m.def("bf16_amx_supported", &amx_bf16_supported);
  m.def("int8_amx_supported", &amx_int8_supported);
  m.def("bf16_kernel", [] { return bf16_kernel_name(bf16_kernel_in_use()); });
  m.def(
      "bf16_gemm",
      [](py::array_t<float, py::array::c_style | py::array::forcecast> a,
         py::array_t<float, py::array::c_style | py::array::forcecast> b, const std::string& kernel,
         bool trans_a, bool trans_b) {
        if (a.ndim() != 2 || b.ndim() != 2)
          throw std::invalid_argument("bf16_gemm takes two float32 matrices");
        const Index m_ = trans_a ? a.shape(1) : a.shape(0), k = trans_a ? a.shape(0) : a.shape(1);
        const Index n = trans_b ? b.shape(0) : b.shape(1);
        if ((trans_b ? b.shape(1) : b.shape(0)) != k)
          throw std::invalid_argument("bf16_gemm: the inner dimensions differ");
        const Bf16Kernel chosen = bf16_kernel_from_name(kernel);
        py::array_t<float> c({m_, n});
        {
          py::gil_scoped_release release;
          bf16_gemm(trans_a, trans_b, m_, n, k, a.data(), a.shape(1), b.data(), b.shape(1),
                    c.mutable_data(), n, false, nullptr, chosen);
        }
        return c;
      },
      py::arg("a"), py::arg("b"), py::arg("kernel") = "auto", py::arg("trans_a") = false,
      py::arg("trans_b") = false);
}

}  // namespace eigennet::bindings
