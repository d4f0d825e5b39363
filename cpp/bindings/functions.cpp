// Stateless functions: activations and losses on arrays, threads.
#include <pybind11/stl.h>

#include "arrays.hpp"
#include "constraint_spec.hpp"
#include "eigennet/activations.hpp"
#include "eigennet/checks.hpp"
#include "eigennet/gemm.hpp"
#include "eigennet/losses.hpp"
#include "eigennet/product_precision.hpp"
#include "eigennet/threading.hpp"

namespace eigennet::bindings {

namespace {

LossConfig loss_config(const std::string& name, bool from_logits, double delta,
                       double label_smoothing) {
  return LossConfig{loss_from_name(name), from_logits, delta, label_smoothing};
}

template <class T>
void bind_functions_typed(py::module_& m) {
  // Works on any C-contiguous array; -1 when every value is finite.
  m.def("first_non_finite", [](const py::array_t<T, py::array::c_style>& a) {
    const T* data = a.data();
    const Index n = static_cast<Index>(a.size());
    py::gil_scoped_release release;
    return first_non_finite<T>(data, n);
  });
  // a @ b for 2-D arrays with the core's GEMM (its threads and instruction set): the
  // benchmarks' GEMM ceiling.
  m.def("matmul", [](const Array<T>& a, const Array<T>& b) {
    if (a.ndim() != 2 || b.ndim() != 2 || a.shape(1) != b.shape(0))
      throw std::invalid_argument("matmul needs 2-D arrays of shapes (m, k) and (k, n)");
    const Index m = a.shape(0), k = a.shape(1), n = b.shape(1);
    Array<T> c(std::vector<py::ssize_t>{static_cast<py::ssize_t>(m), static_cast<py::ssize_t>(n)});
    T* out = c.mutable_data();
    py::gil_scoped_release release;
    if (k == 0)
      std::fill_n(out, m * n, T(0));
    else if (m > 0 && n > 0)
      gemm<T>(false, false, m, n, k, a.data(), k, b.data(), n, out, n);
    return c;
  });
  // A copy of weight w with the constraint applied (eigennet.constraints on arrays).
  m.def("apply_constraint", [](const py::object& spec, const Array<T>& w) {
    const Constraint c = constraint_from(spec);
    c.check_rank(w.ndim());
    Array<T> out = empty_like(w);
    std::copy_n(w.data(), w.size(), out.mutable_data());
    c.apply(out.mutable_data(), Shape(w.shape(), w.shape() + w.ndim()));
    return out;
  });
  m.def("activation_forward", [](const std::string& name, const Array<T>& x) {
    const Activation a = activation_from_name(name);
    Array<T> y = empty_like(x);
    auto out = as_mutable_batch(y);
    py::gil_scoped_release release;
    auto in = as_last_axis(x);
    activation_forward<T>(a, in, MatrixMap<T>(out.data(), in.rows(), in.cols()));
    return y;
  });
  m.def("activation_backward", [](const std::string& name, const Array<T>& x, const Array<T>& dy) {
    const Activation a = activation_from_name(name);
    if (x.size() != dy.size()) throw std::invalid_argument("x and dy must have the same shape");
    Array<T> y = empty_like(x);
    Array<T> dx = empty_like(x);
    auto in = as_last_axis(x);
    T* yp = y.mutable_data();
    T* dxp = dx.mutable_data();
    std::copy_n(dy.data(), dy.size(), dxp);
    py::gil_scoped_release release;
    activation_forward<T>(a, in, MatrixMap<T>(yp, in.rows(), in.cols()));
    activation_backward<T>(a, in, ConstMatrixMap<T>(yp, in.rows(), in.cols()),
                           MatrixMap<T>(dxp, in.rows(), in.cols()));
    return dx;
  });
  m.def(
      "loss_per_sample",
      [](const std::string& name, const Array<T>& y_true, const Array<T>& y_pred, bool from_logits,
         double delta, double label_smoothing) {
        Loss<T> loss(loss_config(name, from_logits, delta, label_smoothing));
        auto pred = as_last_axis(y_pred);
        Array<T> out(std::vector<py::ssize_t>{static_cast<py::ssize_t>(pred.rows())});
        ConstMatrixMap<T> target(y_true.data(), pred.rows(),
                                 pred.rows() == 0 ? 0 : y_true.size() / pred.rows());
        loss.per_sample(target, pred, out.mutable_data());
        return out;
      },
      py::arg("name"), py::arg("y_true"), py::arg("y_pred"), py::arg("from_logits") = false,
      py::arg("delta") = 1.0, py::arg("label_smoothing") = 0.0);
  m.def(
      "loss_value_and_grad",
      [](const std::string& name, const Array<T>& y_true, const Array<T>& y_pred, bool from_logits,
         double delta, double label_smoothing) {
        Loss<T> loss(loss_config(name, from_logits, delta, label_smoothing));
        auto pred = as_last_axis(y_pred);
        if (pred.rows() == 0) throw std::invalid_argument("no samples: y_pred is empty");
        ConstMatrixMap<T> target(y_true.data(), pred.rows(), y_true.size() / pred.rows());
        Array<T> grad = empty_like(y_pred);
        const double value = loss.value_and_grad(
            target, pred, nullptr, MatrixMap<T>(grad.mutable_data(), pred.rows(), pred.cols()));
        return py::make_tuple(value, grad);
      },
      py::arg("name"), py::arg("y_true"), py::arg("y_pred"), py::arg("from_logits") = false,
      py::arg("delta") = 1.0, py::arg("label_smoothing") = 0.0);
}

}  // namespace

void bind_functions(py::module_& m) {
  bind_functions_typed<float>(m);
  bind_functions_typed<double>(m);
  m.def("activation_names", &activation_names);
  m.def("loss_names", &loss_names);
  m.def("set_num_threads", &set_num_threads, py::arg("n"));
  m.def("get_num_threads", &get_num_threads);
  // A copy of float32 values rounded to a 16-bit format's ("bfloat16", "float16"), as the
  // core rounds 16-bit weights and product operands.
  m.def("round_to_precision", [](const std::string& name, const Array<float>& values) {
    const ProductPrecision precision = product_precision_from_name(name);
    Array<float> out = empty_like(values);
    std::copy_n(values.data(), values.size(), out.mutable_data());
    round_to_precision(precision, out.mutable_data(), static_cast<Index>(out.size()));
    return out;
  });
}

}  // namespace eigennet::bindings
