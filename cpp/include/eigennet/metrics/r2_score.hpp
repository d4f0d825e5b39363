// Keras R2Score: the coefficient of determination per output, aggregated.
#pragma once

#include <vector>

#include "eigennet/metrics.hpp"

namespace eigennet {

enum class R2Aggregation { None, UniformAverage, VarianceWeightedAverage };

// Weighted sums per output of y, y^2 and (y - y_pred)^2 give 1 - SS_res / SS_tot as Keras
// computes it: an infinite score (constant target, imperfect fit) becomes 0, 0/0 stays NaN.
// With num_regressors p > 0 the adjusted score 1 - (1 - R2)(n - 1)/(n - p - 1), n counting
// target values (rows x outputs, unweighted), unless p >= n - 1 (Keras then warns and keeps
// R2; the Python front end warns).
template <class T>
class R2Score : public Metric<T> {
 public:
  R2Score(const MetricConfig& config, Index columns);
  void reset() override;
  void update(ConstMatrixMap<T> y_true, ConstMatrixMap<T> y_pred, const T* sample_weight) override;
  Index size() const override { return aggregation_ == R2Aggregation::None ? columns_ : 1; }
  void append_result(std::vector<double>& out) const override;

 private:
  R2Aggregation aggregation_;
  Index num_regressors_, columns_;
  std::vector<double> sum_, squared_sum_, residual_, count_;  // per output
  double num_samples_ = 0;
};

}  // namespace eigennet
