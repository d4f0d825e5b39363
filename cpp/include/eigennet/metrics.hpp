// Metrics accumulated natively during an epoch. Contract: reset() clears the state,
// update(y_true, y_pred, sample_weight) adds a batch (sample_weight may be null: one weight per
// row otherwise), append_result() appends the size() values Keras would report for everything
// since the last reset (one value, or one per class / per threshold).
#pragma once

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "eigennet/tensor.hpp"

namespace eigennet {

template <class T>
class Metric {
 public:
  virtual ~Metric() = default;
  virtual void reset() = 0;
  virtual void update(ConstMatrixMap<T> y_true, ConstMatrixMap<T> y_pred,
                      const T* sample_weight) = 0;
  virtual Index size() const { return 1; }
  virtual void append_result(std::vector<double>& out) const = 0;
};

// What the Python front end asks for. One struct for every family; each reads its own fields
// and the Python side has already validated them (the constructors check again).
struct MetricConfig {
  std::string name;        // "binary_accuracy", "precision", "auc", "fbeta_score", "r2_score", ...
  double threshold = 0.5;  // binary accuracy, F-scores (NaN: Keras's row-maximum rule); k of top-k;
                           // the bound of precision_at_recall and the other at-X rates
  std::vector<double> thresholds;  // precision/recall; AUC's include Keras's end points
  bool evenly = false;             // thresholds are i / (n - 1): Keras then buckets predictions
  Index top_k = 0;                 // precision/recall, 0 = unset
  Index class_id = -1;             // precision/recall, -1 = unset
  std::string curve = "ROC", summation_method = "interpolation";  // AUC
  bool from_logits = false, multi_label = false;                  // AUC
  Index num_labels = 0;                                           // AUC, 0 = unset
  std::vector<double> label_weights;                              // AUC, empty = unset
  std::string average;  // F-scores: "" (None, per class), "micro", "macro", "weighted"
  double beta = 1.0;    // F-scores
  std::string class_aggregation = "uniform_average";  // R2: "" (None, per output)
  Index num_regressors = 0;                           // R2 (adjusted R2 when > 0)
};

// The native metric `config` describes, for predictions with `columns` values per sample.
template <class T>
std::unique_ptr<Metric<T>> make_metric(const MetricConfig& config, Index columns);

// Keras MeanMetricWrapper metrics: a per-sample value, averaged with sample weights.
enum class SampleMetricKind {
  BinaryAccuracy,
  CategoricalAccuracy,
  SparseCategoricalAccuracy,
  MeanSquaredError,
  MeanAbsoluteError,
  RootMeanSquaredError,  // the square root of the mean, taken in result()
  TopKCategoricalAccuracy,
  SparseTopKCategoricalAccuracy,
};

SampleMetricKind sample_metric_from_name(const std::string& name);

template <class T>
class SampleMeanMetric : public Metric<T> {
 public:
  // `arg` is the threshold of binary accuracy and k of the top-k accuracies.
  SampleMeanMetric(SampleMetricKind kind, double arg)
      : kind_(kind), threshold_(T(arg)), k_(static_cast<Index>(arg)) {}
  void reset() override { total_ = count_ = 0; }
  void update(ConstMatrixMap<T> y_true, ConstMatrixMap<T> y_pred, const T* sample_weight) override;
  void append_result(std::vector<double>& out) const override {
    const double mean = count_ > 0 ? total_ / count_ : 0.0;
    out.push_back(kind_ == SampleMetricKind::RootMeanSquaredError ? std::sqrt(mean) : mean);
  }

 private:
  double value(const T* t, Index t_cols, const T* p, Index p_cols) const;
  SampleMetricKind kind_;
  T threshold_;
  Index k_;
  double total_ = 0, count_ = 0;
};

// The running weighted mean of batch losses (Keras's loss tracker, weighted by batch size).
class MeanTracker {
 public:
  void reset() { total_ = count_ = 0; }
  void add(double value, double weight) {
    total_ += value * weight;
    count_ += weight;
  }
  double result() const { return count_ > 0 ? total_ / count_ : 0.0; }

 private:
  double total_ = 0, count_ = 0;
};

}  // namespace eigennet
