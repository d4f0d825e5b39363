// GraphMetric: a keras.metrics.Metric subclass written in Python, run natively. Its
// update_state (y_true, y_pred, sample_weight) is traced into a graph whose outputs are the new
// values of its state variables (weights made by add_variable, read in place by the graph as
// sources); its result() into a graph of those variables alone. fit and evaluate then update it
// per batch with no Python, and Python reads the same variables.
#pragma once

#include <memory>
#include <vector>

#include "eigennet/graph.hpp"
#include "eigennet/metrics.hpp"
#include "eigennet/workspace.hpp"

namespace eigennet {

template <class T>
class GraphMetric : public Metric<T> {
 public:
  // update: inputs y_true, y_pred and the sample weights (one column); output k is the new
  // value of state[k]. result: one unused input; its one output is the result. initial: the
  // state's values after reset, per variable.
  GraphMetric(std::shared_ptr<Graph<T>> update, std::shared_ptr<Graph<T>> result,
              std::vector<std::shared_ptr<Layer<T>>> state, std::vector<std::vector<T>> initial);

  void reset() override;
  void update(ConstMatrixMap<T> y_true, ConstMatrixMap<T> y_pred, const T* sample_weight) override;
  Index size() const override { return result_size_; }
  void append_result(std::vector<double>& out) const override;

 private:
  std::shared_ptr<Graph<T>> update_, result_;
  std::vector<std::shared_ptr<Layer<T>>> state_;
  std::vector<std::vector<T>> initial_;
  Index result_size_ = 1;
  Workspace<T> packed_;
};

// A metric shared with Python (which keeps the object to read its variables) handed to a
// trainer, which owns its metrics.
template <class T>
class SharedMetric : public Metric<T> {
 public:
  explicit SharedMetric(std::shared_ptr<Metric<T>> metric) : metric_(std::move(metric)) {}
  void reset() override { metric_->reset(); }
  void update(ConstMatrixMap<T> y_true, ConstMatrixMap<T> y_pred, const T* w) override {
    metric_->update(y_true, y_pred, w);
  }
  Index size() const override { return metric_->size(); }
  void append_result(std::vector<double>& out) const override { metric_->append_result(out); }

 private:
  std::shared_ptr<Metric<T>> metric_;
};

}  // namespace eigennet
