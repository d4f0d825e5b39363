// Keras AUC: the area under the ROC, PR or PR-gain curve, approximated on thresholds.
#pragma once

#include <vector>

#include "eigennet/metrics/confusion.hpp"

namespace eigennet {

enum class AucCurve { ROC, PR, PRGain };
enum class AucSummation { Interpolation, Minoring, Majoring };

// Confusion counts at Keras's thresholds (with the -epsilon and 1 + epsilon end points),
// then a Riemann sum over them; PR with interpolation uses Davis & Goadrich's formula, as
// Keras's interpolate_pr_auc. Without multi_label every (label, prediction) pair is one data
// point (label_weights weight the columns); with it, one AUC per column, then their mean
// (weighted by label_weights when given). A nonzero label is positive.
template <class T>
class Auc : public Metric<T> {
 public:
  Auc(const MetricConfig& config, Index columns);
  void reset() override { counts_.reset(); }
  void update(ConstMatrixMap<T> y_true, ConstMatrixMap<T> y_pred, const T* sample_weight) override;
  void append_result(std::vector<double>& out) const override { out.push_back(result()); }
  double result() const;

 private:
  // The area of one label column, from the counts at every threshold.
  double area(const ThresholdHistogram::Counts& c, Index label) const;
  double interpolated_pr_area(const ThresholdHistogram::Counts& c, Index label) const;

  AucCurve curve_;
  AucSummation summation_;
  bool from_logits_, multi_label_;
  Index columns_;
  std::vector<double> label_weights_;  // empty: all 1
  ThresholdHistogram counts_;
};

}  // namespace eigennet
