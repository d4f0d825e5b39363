#include "eigennet/metrics/graph_metric.hpp"

#include <algorithm>
#include <stdexcept>

namespace eigennet {

template <class T>
GraphMetric<T>::GraphMetric(std::shared_ptr<Graph<T>> update, std::shared_ptr<Graph<T>> result,
                            std::vector<std::shared_ptr<Layer<T>>> state,
                            std::vector<std::vector<T>> initial)
    : update_(std::move(update)),
      result_(std::move(result)),
      state_(std::move(state)),
      initial_(std::move(initial)) {
  if (!update_ || !result_ || update_->input_count() != 3 || result_->output_count() != 1)
    throw std::invalid_argument(
        "a traced metric needs an update graph of (y_true, y_pred, "
        "sample_weight) and a result graph of one output");
  if (update_->output_count() != state_.size() || initial_.size() != state_.size())
    throw std::invalid_argument("one update output and one initial value per state variable");
  for (size_t k = 0; k < state_.size(); ++k)
    if (!state_[k] || Index(initial_[k].size()) != state_[k]->param_count())
      throw std::invalid_argument("a metric variable does not match its initial value");
  // The result's size: one forward of the result graph on its unused input.
  T zero = 0;
  result_->forward(ConstMatrixMap<T>(&zero, 1, result_->input_size()), false);
  result_size_ = result_->output(0).size();
}

template <class T>
void GraphMetric<T>::reset() {
  for (size_t k = 0; k < state_.size(); ++k)
    std::copy(initial_[k].begin(), initial_[k].end(), state_[k]->params());
}

template <class T>
void GraphMetric<T>::update(ConstMatrixMap<T> y_true, ConstMatrixMap<T> y_pred,
                            const T* sample_weight) {
  const Index rows = y_pred.rows(), t = update_->input_sizes()[0], p = update_->input_sizes()[1];
  if (y_true.cols() != t || y_pred.cols() != p || y_true.rows() != rows)
    throw std::invalid_argument("the metric was traced for other target or prediction shapes");
  MatrixMap<T> packed = packed_.view(rows, t + p + 1);
  packed.leftCols(t) = y_true;
  packed.middleCols(t, p) = y_pred;
  for (Index r = 0; r < rows; ++r) packed(r, t + p) = sample_weight ? sample_weight[r] : T(1);
  update_->forward(ConstMatrixMap<T>(packed.data(), rows, packed.cols()), false);
  // Every new value is computed before any is written: the graph reads the state in place.
  for (size_t k = 0; k < state_.size(); ++k) {
    ConstMatrixMap<T> value = update_->output(k);
    if (value.size() != state_[k]->param_count())
      throw std::invalid_argument("a metric variable was assigned a value of another size");
  }
  for (size_t k = 0; k < state_.size(); ++k) {
    ConstMatrixMap<T> value = update_->output(k);
    std::copy_n(value.data(), value.size(), state_[k]->params());
  }
}

template <class T>
void GraphMetric<T>::append_result(std::vector<double>& out) const {
  T zero = 0;
  result_->forward(ConstMatrixMap<T>(&zero, 1, result_->input_size()), false);
  ConstMatrixMap<T> value = result_->output(0);
  for (Index i = 0; i < value.size(); ++i) out.push_back(double(value.data()[i]));
}

template class GraphMetric<float>;
template class GraphMetric<double>;

}  // namespace eigennet
