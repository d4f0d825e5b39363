// Metrics accumulated natively during an epoch. Contract: reset() clears the state,
// update(y_true, y_pred, sample_weight) adds a batch (sample_weight may be null), result()
// is the value Keras would report for everything since the last reset.
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
  virtual double result() const = 0;
};

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
  double result() const override {
    const double mean = count_ > 0 ? total_ / count_ : 0.0;
    return kind_ == SampleMetricKind::RootMeanSquaredError ? std::sqrt(mean) : mean;
  }

 private:
  double value(const T* t, Index t_cols, const T* p, Index p_cols) const;
  SampleMetricKind kind_;
  T threshold_;
  Index k_;
  double total_ = 0, count_ = 0;
};

// Precision or recall at one threshold (Keras: y_pred > threshold is a positive prediction,
// a nonzero label is a positive; weighted counts; 0 while the denominator is 0).
template <class T>
class ConfusionMetric : public Metric<T> {
 public:
  ConfusionMetric(bool precision, double threshold)
      : precision_(precision), threshold_(T(threshold)) {}
  void reset() override { tp_ = fp_ = fn_ = 0; }
  void update(ConstMatrixMap<T> y_true, ConstMatrixMap<T> y_pred, const T* sample_weight) override;
  double result() const override {
    const double denominator = tp_ + (precision_ ? fp_ : fn_);
    return denominator > 0 ? tp_ / denominator : 0.0;
  }

 private:
  bool precision_;
  T threshold_;
  double tp_ = 0, fp_ = 0, fn_ = 0;
};

// The native metric named `name` ("binary_accuracy", "precision", ...).
template <class T>
std::unique_ptr<Metric<T>> make_metric(const std::string& name, double threshold);

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
