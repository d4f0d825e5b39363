// GraphLoss: a loss written in Python with keras.ops (a function of y_true and y_pred, or a
// keras.losses.Loss subclass's call), traced into a graph with the two as inputs. Its output
// holds the losses: one row per sample (averaged over the row), or values without a batch axis
// (the loss of the whole batch, averaged). The batch loss is Keras's "sum_over_batch_size":
// sum_i w_i * l_i / batch; a batch-wide loss is scaled by the mean sample weight, as Keras's
// broadcasting of the weights does.
#pragma once

#include <memory>

#include "eigennet/graph.hpp"
#include "eigennet/workspace.hpp"

namespace eigennet {

template <class T>
class GraphLoss {
 public:
  // Throws std::invalid_argument unless the graph has two inputs and one output.
  explicit GraphLoss(std::shared_ptr<Graph<T>> graph);

  Index target_cols() const { return graph_->input_sizes()[0]; }
  // Throws std::invalid_argument when y_true or the prediction do not fit the traced shapes.
  void check_targets(ConstMatrixMap<T> y_true, Index pred_rows, Index pred_cols) const;
  void per_sample(ConstMatrixMap<T> y_true, ConstMatrixMap<T> y_pred, T* out);
  double value_and_grad(ConstMatrixMap<T> y_true, ConstMatrixMap<T> y_pred, const T* sample_weight,
                        MatrixMap<T> grad);

 private:
  ConstMatrixMap<T> run(ConstMatrixMap<T> y_true, ConstMatrixMap<T> y_pred);

  std::shared_ptr<Graph<T>> graph_;
  Workspace<T> packed_, output_grad_;
};

}  // namespace eigennet
