#include "eigennet/losses.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "eigennet/graph_loss.hpp"

namespace eigennet {
namespace {

struct Named {
  const char* name;
  LossKind kind;
};
constexpr Named kNames[] = {
    {"mean_squared_error", LossKind::MeanSquaredError},
    {"mean_absolute_error", LossKind::MeanAbsoluteError},
    {"huber", LossKind::Huber},
    {"binary_crossentropy", LossKind::BinaryCrossentropy},
    {"categorical_crossentropy", LossKind::CategoricalCrossentropy},
    {"sparse_categorical_crossentropy", LossKind::SparseCategoricalCrossentropy},
    {"poisson", LossKind::Poisson},
    {"mean_squared_logarithmic_error", LossKind::MeanSquaredLogarithmicError},
    {"mean_absolute_percentage_error", LossKind::MeanAbsolutePercentageError},
    {"hinge", LossKind::Hinge},
    {"squared_hinge", LossKind::SquaredHinge},
};

constexpr double kEpsilon = 1e-7;  // Keras's backend.epsilon()

template <class T>
T log_sigmoid(T x) {  // log(1 / (1 + e^-x)), stable
  return std::min(x, T(0)) - std::log1p(std::exp(-std::abs(x)));
}

template <class T>
T sigmoid(T x) {
  return x >= 0 ? T(1) / (T(1) + std::exp(-x)) : std::exp(x) / (T(1) + std::exp(x));
}

}  // namespace

LossKind loss_from_name(const std::string& name) {
  for (const auto& n : kNames)
    if (name == n.name) return n.kind;
  std::string valid;
  for (const auto& n : kNames) valid += std::string(valid.empty() ? "" : ", ") + n.name;
  throw std::invalid_argument("Unknown loss '" + name + "'. Valid losses: " + valid);
}

std::vector<std::string> loss_names() {
  std::vector<std::string> names;
  for (const auto& n : kNames) names.emplace_back(n.name);
  return names;
}

template <class T>
Index Loss<T>::target_cols(Index pred_cols) const {
  if (custom_) return custom_->target_cols();
  return sparse() ? 1 : pred_cols;
}

template <class T>
Loss<T>::Loss(const LossConfig& config, std::shared_ptr<GraphLoss<T>> custom)
    : config_(config), custom_(std::move(custom)) {
  if (!(config.delta > 0)) throw std::invalid_argument("Huber delta must be positive");
  if (!(config.label_smoothing >= 0 && config.label_smoothing <= 1))
    throw std::invalid_argument("label_smoothing must be in [0, 1]");
}

template <class T>
void Loss<T>::check_targets(ConstMatrixMap<T> y_true, Index pred_rows, Index pred_cols) const {
  if (custom_) return custom_->check_targets(y_true, pred_rows, pred_cols);
  if (y_true.rows() != pred_rows)
    throw std::invalid_argument("y has " + std::to_string(y_true.rows()) +
                                " samples but the prediction has " + std::to_string(pred_rows));
  if (y_true.cols() != target_cols(pred_cols))
    throw std::invalid_argument("targets have " + std::to_string(y_true.cols()) +
                                " values per sample but the loss " + "expects " +
                                std::to_string(target_cols(pred_cols)) + " for a model output of " +
                                std::to_string(pred_cols));
  if (!sparse()) return;
  for (Index r = 0; r < y_true.rows(); ++r) {
    const T label = y_true(r, 0);
    if (!(label >= 0 && label < T(pred_cols)) || label != std::floor(label))
      throw std::invalid_argument("sparse label " + std::to_string(double(label)) + " at sample " +
                                  std::to_string(r) + " is not an integer in [0, " +
                                  std::to_string(pred_cols) + ")");
  }
}

template <class T>
bool Loss<T>::hinge_binary(ConstMatrixMap<T> y_true) const {
  if (config_.kind != LossKind::Hinge && config_.kind != LossKind::SquaredHinge) return false;
  for (Index r = 0; r < y_true.rows(); ++r)
    for (Index c = 0; c < y_true.cols(); ++c)
      if (y_true(r, c) != T(0) && y_true(r, c) != T(1)) return false;
  return true;
}

template <class T>
T Loss<T>::row(const T* t, const T* p, Index n, T* grad, T scale, bool binary_labels) const {
  const T eps = T(kEpsilon), one_minus_eps = T(1) - T(kEpsilon);
  const T ls = T(config_.label_smoothing);
  T loss = 0;
  switch (config_.kind) {
    case LossKind::MeanSquaredError:
      for (Index j = 0; j < n; ++j) {
        const T e = p[j] - t[j];
        loss += e * e;
        if (grad) grad[j] = scale * T(2) * e / T(n);
      }
      return loss / T(n);
    case LossKind::MeanAbsoluteError:
      for (Index j = 0; j < n; ++j) {
        const T e = p[j] - t[j];
        loss += std::abs(e);
        if (grad) grad[j] = scale * T((e > 0) - (e < 0)) / T(n);
      }
      return loss / T(n);
    case LossKind::Huber: {
      const T d = T(config_.delta);
      for (Index j = 0; j < n; ++j) {
        const T e = p[j] - t[j], a = std::abs(e);
        loss += a <= d ? T(0.5) * e * e : d * a - T(0.5) * d * d;
        if (grad) grad[j] = scale * (a <= d ? e : d * T((e > 0) - (e < 0))) / T(n);
      }
      return loss / T(n);
    }
    case LossKind::Poisson:  // mean(p - t * log(p + eps))
      for (Index j = 0; j < n; ++j) {
        loss += p[j] - t[j] * std::log(p[j] + eps);
        if (grad) grad[j] = scale * (T(1) - t[j] / (p[j] + eps)) / T(n);
      }
      return loss / T(n);
    case LossKind::MeanSquaredLogarithmicError:  // mean((log(max(p,eps)+1) - log(...t))^2)
      for (Index j = 0; j < n; ++j) {
        const T a = std::log(std::max(p[j], eps) + T(1)), b = std::log(std::max(t[j], eps) + T(1));
        loss += (a - b) * (a - b);
        if (grad)
          grad[j] =
              p[j] > eps ? scale * T(2) * (a - b) / ((p[j] + T(1)) * T(n)) : T(0);  // max's tie: 0
      }
      return loss / T(n);
    case LossKind::MeanAbsolutePercentageError:  // 100 mean(|t - p| / max(|t|, eps))
      for (Index j = 0; j < n; ++j) {
        const T e = p[j] - t[j], d = std::max(std::abs(t[j]), eps);
        loss += std::abs(e) / d;
        if (grad) grad[j] = scale * T(100) * T((e > 0) - (e < 0)) / (d * T(n));
      }
      return T(100) * loss / T(n);
    case LossKind::Hinge:
    case LossKind::SquaredHinge: {
      const bool squared = config_.kind == LossKind::SquaredHinge;
      for (Index j = 0; j < n; ++j) {
        const T y = binary_labels ? T(2) * t[j] - T(1) : t[j];
        const T m = std::max(T(1) - y * p[j], T(0));
        loss += squared ? m * m : m;
        if (grad) {
          const T dm = T(1) - y * p[j] > 0 ? -y : T(0);
          grad[j] = scale * (squared ? T(2) * m * dm : dm) / T(n);
        }
      }
      return loss / T(n);
    }
    case LossKind::BinaryCrossentropy:
      for (Index j = 0; j < n; ++j) {
        const T y = t[j] * (T(1) - ls) + T(0.5) * ls;
        if (config_.from_logits) {
          loss += -(y * log_sigmoid(p[j]) + (T(1) - y) * log_sigmoid(-p[j]));
          if (grad) grad[j] = scale * (sigmoid(p[j]) - y) / T(n);
        } else {
          const T q = std::clamp(p[j], eps, one_minus_eps);
          loss += -(y * std::log(q) + (T(1) - y) * std::log(T(1) - q));
          const bool inside = p[j] >= eps && p[j] <= one_minus_eps;
          if (grad) grad[j] = inside ? scale * (-y / q + (T(1) - y) / (T(1) - q)) / T(n) : T(0);
        }
      }
      return loss / T(n);
    case LossKind::CategoricalCrossentropy:
    case LossKind::SparseCategoricalCrossentropy: {
      const bool is_sparse = sparse();
      const Index label = is_sparse ? static_cast<Index>(t[0]) : -1;
      auto target = [&](Index j) {
        const T y = is_sparse ? T(j == label) : t[j];
        return y * (T(1) - ls) + ls / T(n);
      };
      if (config_.from_logits) {
        T m = p[0];
        for (Index j = 1; j < n; ++j) m = std::max(m, p[j]);
        T sum = 0, target_sum = 0;
        for (Index j = 0; j < n; ++j) sum += std::exp(p[j] - m);
        const T log_sum = std::log(sum) + m;
        for (Index j = 0; j < n; ++j) {
          loss -= target(j) * (p[j] - log_sum);
          target_sum += target(j);
        }
        if (grad)
          for (Index j = 0; j < n; ++j)
            grad[j] = scale * (std::exp(p[j] - log_sum) * target_sum - target(j));
        return loss;
      }
      // q = p / sum(p), clipped; d/dp_j = (dq_j - sum_k dq_k q_k) / sum(p).
      T sum = 0;
      for (Index j = 0; j < n; ++j) sum += p[j];
      T dot = 0;
      for (Index j = 0; j < n; ++j) {
        const T q = p[j] / sum, qc = std::clamp(q, eps, one_minus_eps);
        loss -= target(j) * std::log(qc);
        const T dq = (q >= eps && q <= one_minus_eps) ? -target(j) / qc : T(0);
        if (grad) grad[j] = dq;
        dot += dq * q;
      }
      if (grad)
        for (Index j = 0; j < n; ++j) grad[j] = scale * (grad[j] - dot) / sum;
      return loss;
    }
  }
  return loss;
}

template <class T>
void Loss<T>::per_sample(ConstMatrixMap<T> y_true, ConstMatrixMap<T> y_pred, T* out) const {
  if (custom_) return custom_->per_sample(y_true, y_pred, out);
  check_targets(y_true, y_pred.rows(), y_pred.cols());
  const bool binary = hinge_binary(y_true);
  for (Index r = 0; r < y_pred.rows(); ++r)
    out[r] = row(y_true.row(r).data(), y_pred.row(r).data(), y_pred.cols(), nullptr, T(0), binary);
}

template <class T>
double Loss<T>::value_and_grad(ConstMatrixMap<T> y_true, ConstMatrixMap<T> y_pred,
                               const T* sample_weight, MatrixMap<T> grad) const {
  if (custom_) return custom_->value_and_grad(y_true, y_pred, sample_weight, grad);
  check_targets(y_true, y_pred.rows(), y_pred.cols());
  const Index rows = y_pred.rows();
  const bool binary = hinge_binary(y_true);
  double total = 0;
  for (Index r = 0; r < rows; ++r) {
    const T w = sample_weight ? sample_weight[r] : T(1);
    const T l = row(y_true.row(r).data(), y_pred.row(r).data(), y_pred.cols(), grad.row(r).data(),
                    w / T(rows), binary);
    total += double(w) * double(l);
  }
  return total / double(rows);
}

template class Loss<float>;
template class Loss<double>;

}  // namespace eigennet
