#include "eigennet/metrics/auc.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace eigennet {
namespace {

// Keras's ops.divide_no_nan: 0 wherever the denominator is 0.
double divide_no_nan(double a, double b) { return b == 0 ? 0.0 : a / b; }

AucCurve curve_from(const std::string& s) {
  if (s == "ROC" || s == "roc") return AucCurve::ROC;
  if (s == "PR" || s == "pr") return AucCurve::PR;
  if (s == "PRGAIN" || s == "prgain") return AucCurve::PRGain;
  throw std::invalid_argument("Invalid AUC curve value: \"" + s +
                              "\". Expected values are [\"PR\", \"ROC\", \"PRGAIN\"]");
}

AucSummation summation_from(const std::string& s) {
  if (s == "interpolation" || s == "Interpolation") return AucSummation::Interpolation;
  if (s == "minoring" || s == "Minoring") return AucSummation::Minoring;
  if (s == "majoring" || s == "Majoring") return AucSummation::Majoring;
  throw std::invalid_argument(
      "Invalid AUC summation method value: \"" + s +
      "\". Expected values are [\"interpolation\", \"majoring\", \"minoring\"]");
}

Index label_columns(const MetricConfig& c, Index columns) {
  if (!c.multi_label) return 1;
  if (c.num_labels > 0 && c.num_labels != columns)
    throw std::invalid_argument("AUC(num_labels=" + std::to_string(c.num_labels) +
                                ") does not match the " + std::to_string(columns) +
                                " values per sample of the predictions");
  return columns;
}

}  // namespace

template <class T>
Auc<T>::Auc(const MetricConfig& config, Index columns)
    : curve_(curve_from(config.curve)),
      summation_(summation_from(config.summation_method)),
      from_logits_(config.from_logits),
      multi_label_(config.multi_label),
      columns_(columns),
      label_weights_(config.label_weights),
      counts_(config.thresholds, config.evenly, label_columns(config, columns)) {
  if (config.thresholds.size() < 2) throw std::invalid_argument("AUC needs num_thresholds > 1");
  if (!label_weights_.empty() && static_cast<Index>(label_weights_.size()) != columns)
    throw std::invalid_argument("AUC label_weights has " + std::to_string(label_weights_.size()) +
                                " values but the predictions have " + std::to_string(columns) +
                                " per sample");
  for (double w : label_weights_)
    if (!(w >= 0)) throw std::invalid_argument("AUC label_weights must be non-negative");
}

template <class T>
void Auc<T>::update(ConstMatrixMap<T> y_true, ConstMatrixMap<T> y_pred, const T* sample_weight) {
  if (y_pred.cols() != columns_ || y_true.cols() != columns_ || y_true.rows() != y_pred.rows())
    throw std::invalid_argument(
        "AUC needs targets shaped like the predictions (" + std::to_string(columns_) +
        " values per sample, not sparse class indices), got " + std::to_string(y_true.cols()));
  const bool column_weights = !multi_label_ && !label_weights_.empty();
  for (Index r = 0; r < y_pred.rows(); ++r) {
    const double w = sample_weight ? double(sample_weight[r]) : 1.0;
    for (Index j = 0; j < columns_; ++j) {
      float p = static_cast<float>(y_pred(r, j));  // Keras's metric variables are float32
      if (from_logits_) p = 1.0f / (1.0f + std::exp(-p));
      counts_.add(p, y_true(r, j) != T(0), column_weights ? w * label_weights_[size_t(j)] : w,
                  multi_label_ ? j : 0);
    }
  }
}

template <class T>
double Auc<T>::interpolated_pr_area(const ThresholdHistogram::Counts& c, Index label) const {
  const Index n = counts_.thresholds(), L = counts_.labels();
  auto at = [&](Index i) { return static_cast<size_t>(i * L + label); };
  double total = 0;
  for (Index i = 0; i + 1 < n; ++i) {
    const double tp_a = c.tp[at(i)], tp_b = c.tp[at(i + 1)];
    const double p_a = tp_a + c.fp[at(i)], p_b = tp_b + c.fp[at(i + 1)];
    const double dtp = tp_a - tp_b, dp = p_a - p_b;
    const double slope = divide_no_nan(dtp, std::max(dp, 0.0));
    const double intercept = tp_b - slope * p_b;
    const double ratio = p_a > 0 && p_b > 0 ? divide_no_nan(p_a, std::max(p_b, 0.0)) : 1.0;
    total += divide_no_nan(slope * (dtp + intercept * std::log(ratio)),
                           std::max(tp_b + c.fn[at(i + 1)], 0.0));
  }
  return total;
}

template <class T>
double Auc<T>::area(const ThresholdHistogram::Counts& c, Index label) const {
  if (curve_ == AucCurve::PR && summation_ == AucSummation::Interpolation)
    return interpolated_pr_area(c, label);
  const Index n = counts_.thresholds(), L = counts_.labels();
  // The curve's point (x, y) at threshold i.
  auto point = [&](Index i, double& x, double& y) {
    const size_t k = static_cast<size_t>(i * L + label);
    const double tp = c.tp[k], fp = c.fp[k], tn = c.tn[k], fn = c.fn[k];
    const double recall = divide_no_nan(tp, tp + fn);
    if (curve_ == AucCurve::ROC) {
      x = divide_no_nan(fp, fp + tn);
      y = recall;
    } else if (curve_ == AucCurve::PR) {
      x = recall;
      y = divide_no_nan(tp, tp + fp);
    } else {  // PR gain; Keras's fixes: no true positive -> gains (0, 1), recall gain >= 0
      const double scale = divide_no_nan(tp + fn, tn + fp);
      x = tp == 0 ? 0.0 : std::max(1.0 - scale * divide_no_nan(fn, tp), 0.0);
      y = tp == 0 ? 1.0 : 1.0 - scale * divide_no_nan(fp, tp);
    }
  };
  double total = 0, x_a, y_a, x_b, y_b;
  point(0, x_a, y_a);
  for (Index i = 0; i + 1 < n; ++i) {
    point(i + 1, x_b, y_b);
    const double height = summation_ == AucSummation::Interpolation ? (y_a + y_b) / 2
                          : summation_ == AucSummation::Minoring    ? std::min(y_a, y_b)
                                                                    : std::max(y_a, y_b);
    total += (x_a - x_b) * height;
    x_a = x_b;
    y_a = y_b;
  }
  return total;
}

template <class T>
double Auc<T>::result() const {
  const auto c = counts_.counts();
  if (!multi_label_) return area(c, 0);
  double sum = 0, weights = 0;
  for (Index j = 0; j < counts_.labels(); ++j) {
    const double w = label_weights_.empty() ? 1.0 : label_weights_[size_t(j)];
    sum += w * area(c, j);
    weights += w;
  }
  return label_weights_.empty() ? sum / double(counts_.labels()) : divide_no_nan(sum, weights);
}

template class Auc<float>;
template class Auc<double>;

}  // namespace eigennet
