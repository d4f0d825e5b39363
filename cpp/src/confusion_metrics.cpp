#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>

#include "eigennet/metrics/confusion.hpp"

namespace eigennet {

ThresholdHistogram::ThresholdHistogram(const std::vector<double>& sorted_thresholds, bool evenly,
                                       Index labels)
    : thresholds_(sorted_thresholds.begin(), sorted_thresholds.end()),
      evenly_(evenly),
      epsilon_ends_(!sorted_thresholds.empty() &&
                    (sorted_thresholds.front() < 0.0 || sorted_thresholds.back() > 1.0)),
      labels_(labels) {
  if (thresholds_.empty()) throw std::invalid_argument("at least one threshold is needed");
  if (!std::is_sorted(thresholds_.begin(), thresholds_.end()))
    throw std::invalid_argument("thresholds must be sorted");
  if (evenly_ && thresholds_.size() < 2)
    throw std::invalid_argument("evenly spaced thresholds need at least two values");
  if (labels_ < 1) throw std::invalid_argument("at least one label column is needed");
  reset();
}

void ThresholdHistogram::reset() {
  const size_t n = (thresholds_.size() + 1) * static_cast<size_t>(labels_);
  positives_.assign(n, 0.0);
  negatives_.assign(n, 0.0);
}

Index ThresholdHistogram::bucket(float p) const {
  if (std::isnan(p)) return -1;
  const Index n = thresholds();
  if (evenly_) {
    // Keras: ceil(clip(p, 0, 1) * (n - 1)) - 1, every operation in float32.
    p = std::min(std::max(p, 0.0f), 1.0f);
    const float scaled = p * static_cast<float>(n - 1);
    const Index b = static_cast<Index>(std::ceil(scaled)) - 1;
    return epsilon_ends_ ? std::max<Index>(b, 0) : b;
  }
  return static_cast<Index>(std::lower_bound(thresholds_.begin(), thresholds_.end(), p) -
                            thresholds_.begin()) -
         1;
}

ThresholdHistogram::Counts ThresholdHistogram::counts() const {
  const Index n = thresholds(), L = labels_;
  Counts c;
  c.tp.assign(static_cast<size_t>(n * L), 0.0);
  c.fp = c.tn = c.fn = c.tp;
  for (Index j = 0; j < L; ++j) {
    double total_pos = 0, total_neg = 0;
    for (Index b = 0; b <= n; ++b) {
      total_pos += positives_[static_cast<size_t>(b * L + j)];
      total_neg += negatives_[static_cast<size_t>(b * L + j)];
    }
    double tp = 0, fp = 0;  // suffix sums over buckets >= i (histogram row i + 1)
    for (Index i = n - 1; i >= 0; --i) {
      tp += positives_[static_cast<size_t>((i + 1) * L + j)];
      fp += negatives_[static_cast<size_t>((i + 1) * L + j)];
      const size_t at = static_cast<size_t>(i * L + j);
      c.tp[at] = tp;
      c.fp[at] = fp;
      c.fn[at] = total_pos - tp;
      c.tn[at] = total_neg - fp;
    }
  }
  return c;
}

namespace {

std::vector<double> sorted_copy(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v;
}

}  // namespace

bool confusion_rate_from_name(const std::string& name, ConfusionRate* rate) {
  static const std::pair<const char*, ConfusionRate> kNames[] = {
      {"precision", ConfusionRate::Precision},
      {"recall", ConfusionRate::Recall},
      {"sensitivity_at_specificity", ConfusionRate::SensitivityAtSpecificity},
      {"specificity_at_sensitivity", ConfusionRate::SpecificityAtSensitivity},
      {"precision_at_recall", ConfusionRate::PrecisionAtRecall},
      {"recall_at_precision", ConfusionRate::RecallAtPrecision}};
  for (const auto& [known, value] : kNames)
    if (name == known) {
      *rate = value;
      return true;
    }
  return false;
}

template <class T>
ConfusionRates<T>::ConfusionRates(ConfusionRate rate, const MetricConfig& config, Index columns)
    : rate_(rate),
      bound_(config.threshold),
      top_k_(config.top_k),
      class_id_(config.class_id),
      columns_(columns),
      counts_(sorted_copy(config.thresholds), config.evenly, 1) {
  const std::string what = config.name;
  if (top_k_ < 0 || top_k_ > columns)
    throw std::invalid_argument(what + "(top_k=" + std::to_string(top_k_) +
                                ") needs top_k <= the number of classes (" +
                                std::to_string(columns) + ")");
  if (class_id_ < -1 || class_id_ >= columns)
    throw std::invalid_argument(what + "(class_id=" + std::to_string(class_id_) +
                                ") needs 0 <= class_id < the number of classes (" +
                                std::to_string(columns) + ")");
  // Where each of the user's thresholds landed once sorted (stable: equal ones keep order).
  const auto& t = config.thresholds;
  std::vector<size_t> by_value(t.size());
  std::iota(by_value.begin(), by_value.end(), size_t(0));
  std::stable_sort(by_value.begin(), by_value.end(),
                   [&](size_t a, size_t b) { return t[a] < t[b]; });
  order_.resize(t.size());
  for (size_t s = 0; s < by_value.size(); ++s) order_[by_value[s]] = s;
  if (top_k_ > 0) {
    row_.resize(static_cast<size_t>(columns));
    ranking_.resize(static_cast<size_t>(columns));
  }
}

template <class T>
Index ConfusionRates<T>::size() const {
  const bool per_threshold = rate_ == ConfusionRate::Precision || rate_ == ConfusionRate::Recall;
  return per_threshold ? static_cast<Index>(order_.size()) : 1;
}

template <class T>
void ConfusionRates<T>::update(ConstMatrixMap<T> y_true, ConstMatrixMap<T> y_pred,
                               const T* sample_weight) {
  if (y_pred.cols() != columns_ || y_true.cols() != columns_ || y_true.rows() != y_pred.rows())
    throw std::invalid_argument(
        "this metric needs targets shaped like the predictions (" + std::to_string(columns_) +
        " values per sample, not sparse class indices), got " + std::to_string(y_true.cols()));
  constexpr float kNegInf = -1e10f;  // Keras's NEG_INF for predictions outside the top k
  for (Index r = 0; r < y_pred.rows(); ++r) {
    const double w = sample_weight ? double(sample_weight[r]) : 1.0;
    const T* p = y_pred.row(r).data();
    const T* t = y_true.row(r).data();
    const float* values = nullptr;
    if (top_k_ > 0) {
      // The k largest keep their value, the others become NEG_INF; ties go to the lower
      // index (torch's order among ties is unspecified), NaN ranks last.
      for (Index j = 0; j < columns_; ++j) row_[size_t(j)] = static_cast<float>(p[j]);
      std::iota(ranking_.begin(), ranking_.end(), Index(0));
      auto key = [&](Index j) {
        const float v = row_[size_t(j)];
        return std::isnan(v) ? -INFINITY : v;
      };
      std::partial_sort(ranking_.begin(), ranking_.begin() + top_k_, ranking_.end(),
                        [&](Index a, Index b) {
                          const float ka = key(a), kb = key(b);
                          return ka > kb || (ka == kb && a < b);
                        });
      for (Index i = top_k_; i < columns_; ++i) row_[size_t(ranking_[size_t(i)])] = kNegInf;
      values = row_.data();
    }
    const Index first = class_id_ >= 0 ? class_id_ : 0;
    const Index last = class_id_ >= 0 ? class_id_ + 1 : columns_;
    for (Index j = first; j < last; ++j) {
      const float v = values ? values[j] : static_cast<float>(p[j]);
      counts_.add(v, t[j] != T(0), w, 0);
    }
  }
}

template <class T>
void ConfusionRates<T>::append_result(std::vector<double>& out) const {
  const auto c = counts_.counts();
  const auto rate = [](double a, double b) { return a + b != 0 ? a / (a + b) : 0.0; };
  if (rate_ == ConfusionRate::Precision || rate_ == ConfusionRate::Recall) {
    const bool precision = rate_ == ConfusionRate::Precision;
    for (size_t s : order_) out.push_back(rate(c.tp[s], precision ? c.fp[s] : c.fn[s]));
    return;
  }
  double best = 0;  // Keras: max(where(constrained >= bound, dependent, 0), initial=0)
  for (size_t s = 0; s < c.tp.size(); ++s) {
    const double sensitivity = rate(c.tp[s], c.fn[s]), specificity = rate(c.tn[s], c.fp[s]);
    const double precision = rate(c.tp[s], c.fp[s]);
    double constrained = 0, dependent = 0;
    switch (rate_) {
      case ConfusionRate::SensitivityAtSpecificity:
        constrained = specificity, dependent = sensitivity;
        break;
      case ConfusionRate::SpecificityAtSensitivity:
        constrained = sensitivity, dependent = specificity;
        break;
      case ConfusionRate::PrecisionAtRecall:
        constrained = sensitivity, dependent = precision;
        break;
      default:  // RecallAtPrecision
        constrained = precision, dependent = sensitivity;
    }
    if (constrained >= bound_) best = std::max(best, dependent);
  }
  out.push_back(best);
}

template class ConfusionRates<float>;
template class ConfusionRates<double>;

}  // namespace eigennet
