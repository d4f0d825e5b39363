// Recurrent layers (SimpleRNN, LSTM, GRU) and Bidirectional, bound once per dtype.
#include <pybind11/stl.h>

#include "arrays.hpp"
#include "eigennet/layers/bidirectional.hpp"
#include "eigennet/layers/recurrent.hpp"
#include "eigennet/orthogonal.hpp"

namespace eigennet::bindings {

namespace {

CellKind cell_kind_from_name(const std::string& name) {
  if (name == "SimpleRNN") return CellKind::SimpleRNN;
  if (name == "LSTM") return CellKind::LSTM;
  if (name == "GRU") return CellKind::GRU;
  throw std::invalid_argument("unknown recurrent layer '" + name + "'");
}

// A layer's settings from keyword arguments (activation names as in eigennet.activations).
RecurrentConfig recurrent_config(const std::string& kind, Index units,
                                 const std::string& activation,
                                 const std::string& recurrent_activation, bool use_bias,
                                 bool return_sequences, bool go_backwards, bool reset_after,
                                 double dropout, double recurrent_dropout, uint64_t seed,
                                 bool zero_output_for_mask) {
  RecurrentConfig c;
  c.kind = cell_kind_from_name(kind);
  c.units = units;
  c.activation = activation_from_name(activation);
  c.recurrent_activation = activation_from_name(recurrent_activation);
  c.use_bias = use_bias;
  c.return_sequences = return_sequences;
  c.go_backwards = go_backwards;
  c.reset_after = reset_after;
  c.dropout = dropout;
  c.recurrent_dropout = recurrent_dropout;
  c.seed = seed;
  c.zero_output_for_mask = zero_output_for_mask;
  return c;
}

template <class T>
void bind_recurrent_layers_typed(py::module_& m) {
  const std::string sfx = std::string("_") + dtype_name<T>();
  py::class_<RecurrentLayer<T>, Layer<T>, std::shared_ptr<RecurrentLayer<T>>>(
      m, ("Recurrent" + sfx).c_str())
      .def(py::init([](const RecurrentConfig& config) {
        return std::make_shared<RecurrentLayer<T>>(config);
      }))
      .def("with_states", &RecurrentLayer<T>::with_states, py::arg("initial_state"),
           py::arg("return_state"), py::arg("input_shapes"))
      .def_property_readonly("state_count", &RecurrentLayer<T>::state_count)
      .def_property(
          "rng_state", [](RecurrentLayer<T>& l) { return l.cell().rng_state(); },
          [](RecurrentLayer<T>& l, std::pair<uint64_t, uint64_t> s) { l.cell().set_rng_state(s); });
  py::class_<Bidirectional<T>, Layer<T>, std::shared_ptr<Bidirectional<T>>>(
      m, ("Bidirectional" + sfx).c_str())
      .def(py::init([](const RecurrentConfig& forward, const RecurrentConfig& backward,
                       const std::string& merge_mode) {
        return std::make_shared<Bidirectional<T>>(forward, backward,
                                                  merge_mode_from_name(merge_mode));
      }))
      .def("with_states", &Bidirectional<T>::with_states, py::arg("initial_state"),
           py::arg("return_state"), py::arg("input_shapes"))
      .def_property_readonly("state_count", &Bidirectional<T>::state_count)
      // (forward cell's, backward cell's) (seed, draws)
      .def_property(
          "rng_state",
          [](Bidirectional<T>& l) {
            return std::make_pair(l.forward_cell().rng_state(), l.backward_cell().rng_state());
          },
          [](Bidirectional<T>& l,
             std::pair<std::pair<uint64_t, uint64_t>, std::pair<uint64_t, uint64_t>> s) {
            l.forward_cell().set_rng_state(s.first);
            l.backward_cell().set_rng_state(s.second);
          });
}

}  // namespace

void bind_recurrent_layers(py::module_& m) {
  py::class_<RecurrentConfig>(m, "RecurrentConfig")
      .def(py::init(&recurrent_config), py::arg("kind"), py::arg("units"), py::arg("activation"),
           py::arg("recurrent_activation"), py::arg("use_bias"), py::arg("return_sequences"),
           py::arg("go_backwards"), py::arg("reset_after"), py::arg("dropout"),
           py::arg("recurrent_dropout"), py::arg("seed"), py::arg("zero_output_for_mask") = false);
  bind_recurrent_layers_typed<float>(m);
  bind_recurrent_layers_typed<double>(m);
  // For initializers.Orthogonal (the recurrent kernels' default).
  m.def("orthogonal_factor", [](const Array<double>& a) {
    if (a.ndim() != 2) throw std::invalid_argument("orthogonal_factor expects a 2-D array");
    Array<double> q({a.shape(0), a.shape(1)});
    const double* in = a.data();
    double* out = q.mutable_data();
    const Index rows = a.shape(0), cols = a.shape(1);
    {
      py::gil_scoped_release release;
      orthogonal_factor(in, rows, cols, out);
    }
    return q;
  });
}

}  // namespace eigennet::bindings
