#include "eigennet/metrics.hpp"

#include <cmath>
#include <stdexcept>

#include "eigennet/metrics/auc.hpp"
#include "eigennet/metrics/confusion.hpp"
#include "eigennet/metrics/f_score.hpp"
#include "eigennet/metrics/r2_score.hpp"

namespace eigennet {
namespace {

template <class T>
Index argmax(const T* p, Index n) {
  Index best = 0;
  for (Index j = 1; j < n; ++j)
    if (p[j] > p[best]) best = j;
  return best;
}

// Keras (torch backend): the target is in the top k when its score is >= the k-th largest,
// i.e. fewer than k scores are strictly larger (ties count as in).
template <class T>
bool in_top_k(const T* p, Index n, Index target, Index k) {
  Index larger = 0;
  for (Index j = 0; j < n; ++j) larger += p[j] > p[target];
  return larger < k;
}

}  // namespace

SampleMetricKind sample_metric_from_name(const std::string& name) {
  if (name == "binary_accuracy") return SampleMetricKind::BinaryAccuracy;
  if (name == "categorical_accuracy") return SampleMetricKind::CategoricalAccuracy;
  if (name == "sparse_categorical_accuracy") return SampleMetricKind::SparseCategoricalAccuracy;
  if (name == "mean_squared_error") return SampleMetricKind::MeanSquaredError;
  if (name == "mean_absolute_error") return SampleMetricKind::MeanAbsoluteError;
  if (name == "root_mean_squared_error") return SampleMetricKind::RootMeanSquaredError;
  if (name == "top_k_categorical_accuracy") return SampleMetricKind::TopKCategoricalAccuracy;
  if (name == "sparse_top_k_categorical_accuracy")
    return SampleMetricKind::SparseTopKCategoricalAccuracy;
  throw std::invalid_argument("Unknown native metric '" + name + "'");
}

template <class T>
double SampleMeanMetric<T>::value(const T* t, Index t_cols, const T* p, Index p_cols) const {
  switch (kind_) {
    case SampleMetricKind::BinaryAccuracy: {
      double hits = 0;
      for (Index j = 0; j < p_cols; ++j) hits += t[j] == T(p[j] > threshold_);
      return hits / double(p_cols);
    }
    case SampleMetricKind::CategoricalAccuracy:
      return argmax(t, t_cols) == argmax(p, p_cols);
    case SampleMetricKind::SparseCategoricalAccuracy:
      return Index(t[0]) == argmax(p, p_cols);
    case SampleMetricKind::TopKCategoricalAccuracy:
      return in_top_k(p, p_cols, argmax(t, t_cols), k_);
    case SampleMetricKind::SparseTopKCategoricalAccuracy:
      return in_top_k(p, p_cols, Index(t[0]), k_);
    case SampleMetricKind::RootMeanSquaredError:
    case SampleMetricKind::MeanSquaredError: {
      double s = 0;
      for (Index j = 0; j < p_cols; ++j) s += double(p[j] - t[j]) * double(p[j] - t[j]);
      return s / double(p_cols);
    }
    case SampleMetricKind::MeanAbsoluteError: {
      double s = 0;
      for (Index j = 0; j < p_cols; ++j) s += std::abs(double(p[j] - t[j]));
      return s / double(p_cols);
    }
  }
  return 0;
}

template <class T>
void SampleMeanMetric<T>::update(ConstMatrixMap<T> y_true, ConstMatrixMap<T> y_pred,
                                 const T* sample_weight) {
  for (Index r = 0; r < y_pred.rows(); ++r) {
    const double w = sample_weight ? double(sample_weight[r]) : 1.0;
    total_ += w * value(y_true.row(r).data(), y_true.cols(), y_pred.row(r).data(), y_pred.cols());
    count_ += w;
  }
}

template <class T>
std::unique_ptr<Metric<T>> make_metric(const MetricConfig& config, Index columns) {
  const std::string& name = config.name;
  ConfusionRate rate;
  if (confusion_rate_from_name(name, &rate))
    return std::make_unique<ConfusionRates<T>>(rate, config, columns);
  if (name == "auc") return std::make_unique<Auc<T>>(config, columns);
  if (name == "fbeta_score") return std::make_unique<FBetaScore<T>>(config, columns);
  if (name == "r2_score") return std::make_unique<R2Score<T>>(config, columns);
  return std::make_unique<SampleMeanMetric<T>>(sample_metric_from_name(name), config.threshold);
}

template class SampleMeanMetric<float>;
template class SampleMeanMetric<double>;
template std::unique_ptr<Metric<float>> make_metric<float>(const MetricConfig&, Index);
template std::unique_ptr<Metric<double>> make_metric<double>(const MetricConfig&, Index);

}  // namespace eigennet
