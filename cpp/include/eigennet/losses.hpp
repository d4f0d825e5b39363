// Losses with Keras 3 definitions (torch backend): probabilities are clipped to
// [1e-7, 1 - 1e-7] with zero gradient where clipped, categorical cross-entropy first
// normalises each row to sum 1, from_logits uses stable log-sigmoid / log-softmax forms.
// The per-sample loss is the mean over the last axis (a sum over classes for the
// categorical ones); the batch loss is sum_i w_i * l_i / batch ("sum_over_batch_size").
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "eigennet/tensor.hpp"

namespace eigennet {

enum class LossKind {
  MeanSquaredError,
  MeanAbsoluteError,
  Huber,
  BinaryCrossentropy,
  CategoricalCrossentropy,
  SparseCategoricalCrossentropy,
  // Keras's element-wise losses (the mean over the last axis); the other new Keras losses
  // are keras.ops formulas traced into a GraphLoss (python/eigennet/_more_losses.py).
  Poisson,
  MeanSquaredLogarithmicError,
  MeanAbsolutePercentageError,
  Hinge,         // 0/1 labels become -1/1 when every label of the batch is 0 or 1
  SquaredHinge,  // as Hinge
};

struct LossConfig {
  LossKind kind = LossKind::MeanSquaredError;
  bool from_logits = false;
  double delta = 1.0;            // Huber
  double label_smoothing = 0.0;  // binary and categorical cross-entropy
};

LossKind loss_from_name(const std::string& name);
std::vector<std::string> loss_names();

template <class T>
class GraphLoss;

template <class T>
class Loss {
 public:
  // A built-in loss from `config`, or the traced loss `custom` when it is given.
  explicit Loss(const LossConfig& config, std::shared_ptr<GraphLoss<T>> custom = nullptr);

  // Columns y_true must have for a prediction with `pred_cols` columns.
  Index target_cols(Index pred_cols) const;
  bool sparse() const { return config_.kind == LossKind::SparseCategoricalCrossentropy; }

  // Throws std::invalid_argument when the shapes disagree or a sparse label is not an
  // integer in [0, classes).
  void check_targets(ConstMatrixMap<T> y_true, Index pred_rows, Index pred_cols) const;

  // Per-sample losses, one per row.
  void per_sample(ConstMatrixMap<T> y_true, ConstMatrixMap<T> y_pred, T* out) const;

  // Returns the batch loss and writes its gradient w.r.t. y_pred. sample_weight may be null.
  double value_and_grad(ConstMatrixMap<T> y_true, ConstMatrixMap<T> y_pred, const T* sample_weight,
                        MatrixMap<T> grad) const;

 private:
  // Loss of one row; when grad is non-null also writes scale * d(loss)/d(pred).
  T row(const T* t, const T* p, Index n, T* grad, T scale, bool binary_labels) const;
  // Whether a hinge loss converts the labels of this batch (all 0 or 1, as Keras checks).
  bool hinge_binary(ConstMatrixMap<T> y_true) const;
  LossConfig config_;
  std::shared_ptr<GraphLoss<T>> custom_;  // its workspaces change per batch, not its meaning
};

}  // namespace eigennet
