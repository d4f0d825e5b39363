// Keras FBetaScore / F1Score: per-class weighted true/false positives and false negatives.
#pragma once

#include <vector>

#include "eigennet/metrics.hpp"

namespace eigennet {

enum class FScoreAverage { None, Micro, Macro, Weighted };

// A prediction is 1 where y_pred > threshold or, without a threshold (NaN), where it equals
// its row's maximum and |y_pred| > 1e-9 (ties all count). Labels enter as values (Keras
// multiplies by y_true). Keras's epsilon (1e-7) guards every division, so an empty class
// scores 0. With average None the result is one value per class.
template <class T>
class FBetaScore : public Metric<T> {
 public:
  FBetaScore(const MetricConfig& config, Index columns);
  void reset() override;
  void update(ConstMatrixMap<T> y_true, ConstMatrixMap<T> y_pred, const T* sample_weight) override;
  Index size() const override { return average_ == FScoreAverage::None ? columns_ : 1; }
  void append_result(std::vector<double>& out) const override;

 private:
  FScoreAverage average_;
  double beta_;
  T threshold_;  // NaN: the row-maximum rule
  Index columns_;
  std::vector<double> tp_, fp_, fn_, support_;  // per class
};

}  // namespace eigennet
