#include "eigennet/metrics/f_score.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

namespace eigennet {
namespace {

constexpr double kEpsilon = 1e-7;  // Keras's backend.epsilon()

FScoreAverage average_from(const std::string& s) {
  if (s.empty()) return FScoreAverage::None;
  if (s == "micro") return FScoreAverage::Micro;
  if (s == "macro") return FScoreAverage::Macro;
  if (s == "weighted") return FScoreAverage::Weighted;
  throw std::invalid_argument(
      "Invalid `average` argument value. Expected one of: {None, "
      "'micro', 'macro', 'weighted'}. Received: average=" +
      s);
}

// Keras's F-beta of one (tp, fp, fn) triple.
double f_beta(double tp, double fp, double fn, double beta) {
  const double precision = tp / (tp + fp + kEpsilon), recall = tp / (tp + fn + kEpsilon);
  const double b2 = beta * beta;
  return precision * recall / (b2 * precision + recall + kEpsilon) * (1 + b2);
}

}  // namespace

template <class T>
FBetaScore<T>::FBetaScore(const MetricConfig& config, Index columns)
    : average_(average_from(config.average)),
      beta_(config.beta),
      threshold_(static_cast<T>(config.threshold)),
      columns_(columns) {
  if (!(beta_ > 0)) throw std::invalid_argument("FBetaScore needs beta > 0");
  if (!std::isnan(config.threshold) && !(config.threshold > 0 && config.threshold <= 1))
    throw std::invalid_argument("FBetaScore needs 0 < threshold <= 1");
  reset();
}

template <class T>
void FBetaScore<T>::reset() {
  const size_t n = static_cast<size_t>(columns_);
  tp_.assign(n, 0.0);
  fp_.assign(n, 0.0);
  fn_.assign(n, 0.0);
  support_.assign(n, 0.0);
}

template <class T>
void FBetaScore<T>::update(ConstMatrixMap<T> y_true, ConstMatrixMap<T> y_pred,
                           const T* sample_weight) {
  if (y_pred.cols() != columns_ || y_true.cols() != columns_ || y_true.rows() != y_pred.rows())
    throw std::invalid_argument(
        "F-scores need one-hot (or multi-label) targets shaped like the "
        "predictions (" +
        std::to_string(columns_) + " values per sample), got " + std::to_string(y_true.cols()));
  const bool by_max = std::isnan(threshold_);
  for (Index r = 0; r < y_pred.rows(); ++r) {
    const double w = sample_weight ? double(sample_weight[r]) : 1.0;
    const T* p = y_pred.row(r).data();
    const T* t = y_true.row(r).data();
    T cut = threshold_;
    if (by_max) {  // the row maximum; NaN if any value is NaN (torch's max), then none is 1
      cut = p[0];
      for (Index j = 1; j < columns_ && !std::isnan(cut); ++j)
        if (std::isnan(p[j]) || p[j] > cut) cut = p[j];
    }
    for (Index j = 0; j < columns_; ++j) {
      const double predicted = by_max ? (p[j] >= cut && std::abs(p[j]) > T(1e-9)) : p[j] > cut;
      const double label = double(t[j]);
      tp_[size_t(j)] += w * predicted * label;
      fp_[size_t(j)] += w * predicted * (1 - label);
      fn_[size_t(j)] += w * (1 - predicted) * label;
      support_[size_t(j)] += w * label;
    }
  }
}

template <class T>
void FBetaScore<T>::append_result(std::vector<double>& out) const {
  if (average_ == FScoreAverage::Micro) {
    double tp = 0, fp = 0, fn = 0;
    for (Index j = 0; j < columns_; ++j) {
      tp += tp_[size_t(j)];
      fp += fp_[size_t(j)];
      fn += fn_[size_t(j)];
    }
    out.push_back(f_beta(tp, fp, fn, beta_));
    return;
  }
  double total_support = 0;
  for (double s : support_) total_support += s;
  double sum = 0;
  for (Index j = 0; j < columns_; ++j) {
    const double f = f_beta(tp_[size_t(j)], fp_[size_t(j)], fn_[size_t(j)], beta_);
    if (average_ == FScoreAverage::None) out.push_back(f);
    sum += average_ == FScoreAverage::Weighted
               ? f * support_[size_t(j)] / (total_support + kEpsilon)
               : f;
  }
  if (average_ == FScoreAverage::Macro) out.push_back(sum / double(columns_));
  if (average_ == FScoreAverage::Weighted) out.push_back(sum);
}

template class FBetaScore<float>;
template class FBetaScore<double>;

}  // namespace eigennet
