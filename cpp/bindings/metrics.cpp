// Metrics on their own (Metric_float32/_float64): what a metric object's update_state and
// result run, the same accumulators as in fit/evaluate.
#include <pybind11/stl.h>

#include <cmath>
#include <optional>

#include "arrays.hpp"
#include "eigennet/metrics/graph_metric.hpp"
#include "metric_config.hpp"

namespace eigennet::bindings {

MetricConfig metric_config_from(const std::string& name, const py::dict& c) {
  MetricConfig m;
  m.name = name;
  auto get = [&](const char* key, auto& field) {
    if (c.contains(key) && !c[key].is_none())
      field = c[key].cast<std::remove_reference_t<decltype(field)>>();
  };
  // None means Keras's default rule (the row maximum for F-scores).
  if (c.contains("threshold") && c["threshold"].is_none()) m.threshold = std::nan("");
  get("threshold", m.threshold);
  get("thresholds", m.thresholds);
  get("evenly", m.evenly);
  get("top_k", m.top_k);
  get("class_id", m.class_id);
  get("curve", m.curve);
  get("summation_method", m.summation_method);
  get("from_logits", m.from_logits);
  get("multi_label", m.multi_label);
  get("num_labels", m.num_labels);
  get("label_weights", m.label_weights);
  get("average", m.average);
  get("beta", m.beta);
  get("class_aggregation", m.class_aggregation);
  get("num_regressors", m.num_regressors);
  return m;
}

namespace {

template <class T>
void bind_metric(py::module_& m) {
  // Not bound as a Metric_ subclass: Python keeps it (shared) to hand it to trainers.
  py::class_<GraphMetric<T>, std::shared_ptr<GraphMetric<T>>>(
      m, (std::string("GraphMetric_") + dtype_name<T>()).c_str())
      .def(py::init<std::shared_ptr<Graph<T>>, std::shared_ptr<Graph<T>>,
                    std::vector<std::shared_ptr<Layer<T>>>, std::vector<std::vector<T>>>(),
           py::arg("update"), py::arg("result"), py::arg("state"), py::arg("initial"))
      .def("reset", &GraphMetric<T>::reset);
  py::class_<Metric<T>>(m, (std::string("Metric_") + dtype_name<T>()).c_str())
      .def(py::init([](const std::string& name, const py::dict& config, Index columns) {
             return make_metric<T>(metric_config_from(name, config), columns);
           }),
           py::arg("name"), py::arg("config"), py::arg("columns"))
      .def_property_readonly("size", &Metric<T>::size)
      .def("reset", &Metric<T>::reset)
      .def(
          "update",
          [](Metric<T>& metric, const Array<T>& y_true, const Array<T>& y_pred,
             const std::optional<Array<T>>& sample_weight) {
            auto t = as_batch(y_true), p = as_batch(y_pred);
            if (t.rows() != p.rows())
              throw std::invalid_argument("y_true has " + std::to_string(t.rows()) +
                                          " samples but y_pred has " + std::to_string(p.rows()));
            if (sample_weight && sample_weight->size() != p.rows())
              throw std::invalid_argument("sample_weight must hold one weight per sample");
            py::gil_scoped_release release;
            metric.update(t, p, sample_weight ? sample_weight->data() : nullptr);
          },
          py::arg("y_true"), py::arg("y_pred"), py::arg("sample_weight") = std::nullopt)
      .def("result", [](const Metric<T>& metric) {
        std::vector<double> out;
        metric.append_result(out);
        return out;
      });
}

}  // namespace

void bind_metrics(py::module_& m) {
  bind_metric<float>(m);
  bind_metric<double>(m);
}

}  // namespace eigennet::bindings
