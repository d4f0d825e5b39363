#include "eigennet/graph_loss.hpp"

#include <stdexcept>
#include <string>

namespace eigennet {

template <class T>
GraphLoss<T>::GraphLoss(std::shared_ptr<Graph<T>> graph) : graph_(std::move(graph)) {
  if (!graph_ || graph_->input_count() != 2 || graph_->output_count() != 1)
    throw std::invalid_argument("a traced loss takes y_true and y_pred and returns one tensor");
}

template <class T>
void GraphLoss<T>::check_targets(ConstMatrixMap<T> y_true, Index pred_rows, Index pred_cols) const {
  if (y_true.rows() != pred_rows)
    throw std::invalid_argument("y_true has " + std::to_string(y_true.rows()) +
                                " samples, y_pred " + std::to_string(pred_rows));
  if (y_true.cols() != target_cols() || pred_cols != graph_->input_sizes()[1])
    throw std::invalid_argument(
        "the loss was traced for " + std::to_string(target_cols()) + " target and " +
        std::to_string(graph_->input_sizes()[1]) + " prediction values per sample, got " +
        std::to_string(y_true.cols()) + " and " + std::to_string(pred_cols));
}

template <class T>
ConstMatrixMap<T> GraphLoss<T>::run(ConstMatrixMap<T> y_true, ConstMatrixMap<T> y_pred) {
  check_targets(y_true, y_pred.rows(), y_pred.cols());
  MatrixMap<T> packed = packed_.view(y_pred.rows(), y_true.cols() + y_pred.cols());
  packed.leftCols(y_true.cols()) = y_true;
  packed.rightCols(y_pred.cols()) = y_pred;
  graph_->forward(ConstMatrixMap<T>(packed.data(), packed.rows(), packed.cols()), true);
  return graph_->output(0);
}

template <class T>
void GraphLoss<T>::per_sample(ConstMatrixMap<T> y_true, ConstMatrixMap<T> y_pred, T* out) {
  ConstMatrixMap<T> values = run(y_true, y_pred);
  if (graph_->output_batched(0)) {
    for (Index r = 0; r < values.rows(); ++r) out[r] = values.row(r).mean();
  } else {
    const T all = values.mean();
    for (Index r = 0; r < y_pred.rows(); ++r) out[r] = all;
  }
}

template <class T>
double GraphLoss<T>::value_and_grad(ConstMatrixMap<T> y_true, ConstMatrixMap<T> y_pred,
                                    const T* sample_weight, MatrixMap<T> grad) {
  ConstMatrixMap<T> values = run(y_true, y_pred);
  const Index rows = y_pred.rows();
  MatrixMap<T> dv = output_grad_.view(values.rows(), values.cols());
  double total = 0;
  if (graph_->output_batched(0)) {
    const T scale = T(1) / T(rows * values.cols());
    for (Index r = 0; r < rows; ++r) {
      const T w = sample_weight ? sample_weight[r] : T(1);
      total += double(w) * double(values.row(r).sum());
      dv.row(r).setConstant(w * scale);
    }
    total /= double(rows * values.cols());
  } else {
    double mean_weight = 1;
    if (sample_weight) {
      mean_weight = 0;
      for (Index r = 0; r < rows; ++r) mean_weight += double(sample_weight[r]);
      mean_weight /= double(rows);
    }
    total = mean_weight * double(values.mean());
    dv.setConstant(T(mean_weight / double(values.size())));
  }
  graph_->backward({dv.data()}, std::vector<T*>(graph_->layers().size(), nullptr), true);
  grad = graph_->input_gradient(1);
  return total;
}

template class GraphLoss<float>;
template class GraphLoss<double>;

}  // namespace eigennet
