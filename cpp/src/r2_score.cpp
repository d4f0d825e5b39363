#include "eigennet/metrics/r2_score.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

namespace eigennet {
namespace {

R2Aggregation aggregation_from(const std::string& s) {
  if (s.empty()) return R2Aggregation::None;
  if (s == "uniform_average") return R2Aggregation::UniformAverage;
  if (s == "variance_weighted_average") return R2Aggregation::VarianceWeightedAverage;
  throw std::invalid_argument(
      "Invalid value for argument `class_aggregation`. Expected one of (None, "
      "'uniform_average', 'variance_weighted_average'). Received: class_aggregation=" +
      s);
}

}  // namespace

template <class T>
R2Score<T>::R2Score(const MetricConfig& config, Index columns)
    : aggregation_(aggregation_from(config.class_aggregation)),
      num_regressors_(config.num_regressors),
      columns_(columns) {
  if (num_regressors_ < 0) throw std::invalid_argument("R2Score needs num_regressors >= 0");
  reset();
}

template <class T>
void R2Score<T>::reset() {
  const size_t n = static_cast<size_t>(columns_);
  sum_.assign(n, 0.0);
  squared_sum_.assign(n, 0.0);
  residual_.assign(n, 0.0);
  count_.assign(n, 0.0);
  num_samples_ = 0;
}

template <class T>
void R2Score<T>::update(ConstMatrixMap<T> y_true, ConstMatrixMap<T> y_pred,
                        const T* sample_weight) {
  if (y_pred.cols() != columns_ || y_true.cols() != columns_ || y_true.rows() != y_pred.rows())
    throw std::invalid_argument("R2Score needs targets shaped like the predictions (" +
                                std::to_string(columns_) + " values per sample), got " +
                                std::to_string(y_true.cols()));
  for (Index r = 0; r < y_pred.rows(); ++r) {
    const double w = sample_weight ? double(sample_weight[r]) : 1.0;
    for (Index j = 0; j < columns_; ++j) {
      const double t = double(y_true(r, j)), e = t - double(y_pred(r, j));
      sum_[size_t(j)] += w * t;
      squared_sum_[size_t(j)] += w * t * t;
      residual_[size_t(j)] += w * e * e;
      count_[size_t(j)] += w;
    }
  }
  num_samples_ += double(y_true.size());
}

template <class T>
void R2Score<T>::append_result(std::vector<double>& out) const {
  const size_t first = out.size();
  double score_sum = 0, weighted = 0, total_variance = 0;
  for (size_t j = 0; j < size_t(columns_); ++j) {
    const double total = squared_sum_[j] - sum_[j] * (sum_[j] / count_[j]);
    double score = 1 - residual_[j] / total;
    if (std::isinf(score)) score = 0;
    if (aggregation_ == R2Aggregation::None) out.push_back(score);
    score_sum += score;
    weighted += total * score;
    total_variance += total;
  }
  if (aggregation_ == R2Aggregation::UniformAverage) out.push_back(score_sum / double(columns_));
  if (aggregation_ == R2Aggregation::VarianceWeightedAverage)
    out.push_back(weighted / total_variance);
  const double n = num_samples_, p = double(num_regressors_);
  if (num_regressors_ != 0 && p < n - 1)
    for (size_t i = first; i < out.size(); ++i) out[i] = 1 - (1 - out[i]) * (n - 1) / (n - p - 1);
}

template class R2Score<float>;
template class R2Score<double>;

}  // namespace eigennet
