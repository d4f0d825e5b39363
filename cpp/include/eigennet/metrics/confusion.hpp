// Confusion counts at many thresholds (Keras's metrics_utils), and Precision/Recall on them.
#pragma once

#include <string>
#include <vector>

#include "eigennet/metrics.hpp"

namespace eigennet {

// Weighted positive/negative label counts per "bucket" of prediction, per label column. A
// prediction in bucket b (-1 <= b < n) exceeds thresholds 0..b, so the counts at threshold i
// are suffix sums over buckets >= i: O(1) per prediction, O(n) per result. Keras finds b in
// one of two ways, which round differently at the thresholds, and both are kept:
//  - evenly spaced thresholds (i / (n - 1)): clip p to [0, 1], b = ceil(p * (n - 1)) - 1 in
//    float32, raised to 0 when the end thresholds lie outside [0, 1] (AUC's epsilons);
//  - otherwise: b = (number of float32 thresholds strictly below p) - 1.
// NaN predictions exceed no threshold (b = -1), as in Keras.
class ThresholdHistogram {
 public:
  // `sorted_thresholds` ascending; `labels` columns are counted separately.
  ThresholdHistogram(const std::vector<double>& sorted_thresholds, bool evenly, Index labels);
  Index thresholds() const { return static_cast<Index>(thresholds_.size()); }
  Index labels() const { return labels_; }
  void reset();
  void add(float p, bool positive, double weight, Index label) {
    const size_t at = static_cast<size_t>((bucket(p) + 1) * labels_ + label);
    (positive ? positives_ : negatives_)[at] += weight;
  }
  // Counts at threshold i for label j, at [i * labels + j] (vectors resized here).
  struct Counts {
    std::vector<double> tp, fp, tn, fn;
  };
  Counts counts() const;

 private:
  Index bucket(float p) const;
  std::vector<float> thresholds_;  // float32, as Keras's metric variables
  bool evenly_, epsilon_ends_;
  Index labels_;
  std::vector<double> positives_, negatives_;  // (thresholds + 1) x labels, bucket -1 first
};

// Rates read from the confusion counts at thresholds.
//  - Precision, Recall (Keras's): one value per threshold (thresholds in the user's order);
//    with top_k only each row's k largest predictions can be positive.
//  - SensitivityAtSpecificity, SpecificityAtSensitivity, PrecisionAtRecall, RecallAtPrecision
//    (Keras's SensitivitySpecificityBase): one value, the largest first rate over the
//    thresholds whose second rate is at least `config.threshold` (0 when none is).
// With class_id only that column counts. A nonzero label is positive; a rate is 0 while its
// denominator is 0.
enum class ConfusionRate {
  Precision,
  Recall,
  SensitivityAtSpecificity,
  SpecificityAtSensitivity,
  PrecisionAtRecall,
  RecallAtPrecision
};

// The rate a metric name ("precision", "sensitivity_at_specificity", ...) asks for, or
// false when the name is none of them.
bool confusion_rate_from_name(const std::string& name, ConfusionRate* rate);

template <class T>
class ConfusionRates : public Metric<T> {
 public:
  ConfusionRates(ConfusionRate rate, const MetricConfig& config, Index columns);
  void reset() override { counts_.reset(); }
  void update(ConstMatrixMap<T> y_true, ConstMatrixMap<T> y_pred, const T* sample_weight) override;
  Index size() const override;
  void append_result(std::vector<double>& out) const override;

 private:
  ConfusionRate rate_;
  double bound_;  // the at-X metrics' constraint
  Index top_k_, class_id_, columns_;
  std::vector<size_t> order_;  // order_[i]: where the user's threshold i is in sorted order
  ThresholdHistogram counts_;
  std::vector<float> row_;      // a row after Keras's top-k filter
  std::vector<Index> ranking_;  // column indices, for the top-k selection
};

}  // namespace eigennet
