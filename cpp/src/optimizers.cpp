#include "eigennet/optimizers.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "eigennet/checks.hpp"
#include "eigennet/threading.hpp"

namespace eigennet {
namespace {

void check_non_negative(double v, const char* name) {
  if (!(v >= 0) || !std::isfinite(v))
    throw std::invalid_argument(std::string(name) + " must be a finite number >= 0, got " +
                                std::to_string(v));
}

template <class T>
double squared_norm(const T* g, Index n) {
  double s = 0;
  for (Index i = 0; i < n; ++i) s += double(g[i]) * double(g[i]);
  return s;
}

template <class T>
void scale_to_norm(T* g, Index n, double norm, double max_norm) {
  if (norm <= max_norm) return;
  const T factor = T(max_norm / norm);
  for (Index i = 0; i < n; ++i) g[i] *= factor;
}

}  // namespace

template <class T>
Optimizer<T>::Optimizer(const OptimizerConfig& config) : config_(config) {
  check_non_negative(config.learning_rate, "learning_rate");
  check_non_negative(config.weight_decay, "weight_decay");
  check_non_negative(config.clipnorm, "clipnorm");
  check_non_negative(config.global_clipnorm, "global_clipnorm");
  check_non_negative(config.clipvalue, "clipvalue");
}

template <class T>
void Optimizer<T>::set_learning_rate(double lr) {
  check_non_negative(lr, "learning_rate");
  has_schedule_ = false;
  config_.learning_rate = lr;
}

template <class T>
void Optimizer<T>::set_schedule(const LearningRateSchedule& schedule) {
  schedule.validate();
  schedule_ = schedule;
  has_schedule_ = true;
}

template <class T>
void Optimizer<T>::enable_loss_scale(double initial_scale, int64_t growth_steps) {
  if (growth_steps < 1)
    throw std::invalid_argument("dynamic_growth_steps must be a positive integer, got " +
                                std::to_string(growth_steps));
  loss_scaling_ = true;
  growth_steps_ = growth_steps;
  set_loss_scale(initial_scale);
  scale_counter_ = 0;
}

template <class T>
void Optimizer<T>::set_loss_scale(double scale) {
  // Finite in T too: the loss gradient is multiplied by it.
  if (!(scale > 0) || !std::isfinite(T(scale)))
    throw std::invalid_argument("the loss scale must be a positive finite number, got " +
                                std::to_string(scale));
  scale_ = scale;
}

template <class T>
void Optimizer<T>::set_loss_scale_counter(int64_t n) {
  if (n < 0 || (loss_scaling_ && n >= growth_steps_))
    throw std::invalid_argument("the loss scale's step counter must be in [0, " +
                                std::to_string(growth_steps_) + "), got " + std::to_string(n));
  scale_counter_ = n;
}

template <class T>
void Optimizer<T>::build(const std::vector<Segment<T>>& variables) {
  if (built_) throw std::logic_error("this optimizer is already built");
  Index total = 0;
  for (const auto& v : variables) {
    if (!known_.emplace(v.param, std::make_pair(total, v.size)).second)
      throw std::invalid_argument("the same variable was passed twice to the optimizer");
    slot_offsets_.push_back(total);
    total += v.size;
  }
  const auto names = slot_names();
  for (size_t i = 0; i < names.size(); ++i)
    slot_buffers_.emplace_back(static_cast<size_t>(total), slot_initial_value(i));
  step_offsets_.reserve(variables.size());
  built_ = true;
}

template <class T>
void Optimizer<T>::locate(const std::vector<Segment<T>>& segments) {
  step_offsets_.clear();
  for (size_t i = 0; i < segments.size(); ++i) {
    const auto it = known_.find(segments[i].param);
    if (it == known_.end() || it->second.second != segments[i].size)
      throw std::invalid_argument(
          "Unknown variable: this optimizer can only update the variables it was built with "
          "(the trainable weights when training started). A weight that was frozen then was "
          "made trainable, or belongs to another model: create a new optimizer and compile "
          "again");
    step_offsets_.push_back(it->second.first);
  }
}

template <class T>
void Optimizer<T>::clip(const std::vector<Segment<T>>& segments, T* grad) const {
  if (config_.clipnorm > 0)
    for (const auto& s : segments)
      scale_to_norm(grad + s.offset, s.size, std::sqrt(squared_norm(grad + s.offset, s.size)),
                    config_.clipnorm);
  if (config_.global_clipnorm > 0) {
    double total = 0;
    for (const auto& s : segments) total += squared_norm(grad + s.offset, s.size);
    const double norm = std::sqrt(total);
    for (const auto& s : segments)
      scale_to_norm(grad + s.offset, s.size, norm, config_.global_clipnorm);
  }
  if (config_.clipvalue > 0) {
    const T v = T(config_.clipvalue);
    for (const auto& s : segments)
      for (Index i = 0; i < s.size; ++i) grad[s.offset + i] = std::clamp(grad[s.offset + i], -v, v);
  }
}

template <class T>
void Optimizer<T>::set_scalar_state(const std::vector<double>& values) {
  if (!values.empty())
    throw std::invalid_argument("this optimizer keeps no state besides its slots");
}

template <class T>
void Optimizer<T>::step(const std::vector<Segment<T>>& segments, T* grad) {
  if (!built_) build(segments);
  locate(segments);
  Index total = 0;
  for (const auto& s : segments) total += s.size;
  if (loss_scaling_) {
    for (const auto& s : segments)
      if (first_non_finite(grad + s.offset, s.size) >= 0) {
        scale_ = std::max(scale_ * 0.5, double(std::numeric_limits<T>::min()));
        scale_counter_ = 0;
        return;
      }
  }
  clip(segments, grad);
  const StepScalars scalars{T(learning_rate()), iterations_ + 1};
  const T decay = T(config_.weight_decay) * scalars.lr;
  begin_step(scalars);
  // Each thread takes its share of every large tensor; small tensors stay whole on thread 0.
  // One OpenMP region per step at most, none for small models.
  const bool whole = whole_variables();
  auto run = [&](Index thread, Index threads) {
    for (size_t k = 0; k < segments.size(); ++k) {
      const auto& s = segments[k];
      Index begin = 0, end = s.size;
      if (threads > 1) {
        if (whole) {
          if (Index(k) % threads != thread) continue;  // whole variables, dealt round-robin
        } else if (s.size < kOptimizerParallelGrain / 4) {
          if (thread != 0) continue;
        } else {
          const Index share = (s.size + threads - 1) / threads;
          begin = std::min(s.size, thread * share);
          end = std::min(s.size, begin + share);
        }
      }
      if (begin >= end) continue;
      T* p = s.param + begin;
      if (decay != T(0)) {
#pragma omp simd
        for (Index i = 0; i < end - begin; ++i) p[i] -= p[i] * decay;
      }
      update(p, grad + s.offset + begin, step_offsets_[k] + begin, end - begin, scalars);
    }
  };
  if (parallel_for_worth(total, kOptimizerParallelGrain)) {
#pragma omp parallel
    run(omp_get_thread_num(), omp_get_num_threads());
  } else {
    run(0, 1);
  }
  ++iterations_;
  if (loss_scaling_) {
    if (++scale_counter_ == growth_steps_) {
      scale_counter_ = 0;
      if (std::isfinite(T(scale_ * 2))) scale_ *= 2;  // (Keras's would overflow to inf)
    }
  }
}

namespace {

template <class T>
class SGD : public Optimizer<T> {
 public:
  SGD(const OptimizerConfig& base, const SGDConfig& c) : Optimizer<T>(base), c_(c) {
    check_non_negative(c.momentum, "momentum");
  }
  std::vector<std::string> slot_names() const override {
    return c_.momentum > 0 ? std::vector<std::string>{"momentum"} : std::vector<std::string>{};
  }

 protected:
  void update(T* p, const T* g, Index offset, Index n,
              const typename Optimizer<T>::StepScalars& s) override {
    const T lr = s.lr;
    if (c_.momentum == 0) {
#pragma omp simd
      for (Index i = 0; i < n; ++i) {
        p[i] -= lr * g[i];
      }
      return;
    }
    T* m = this->slot_data(0, offset);
    const T mu = T(c_.momentum);
    if (c_.nesterov)
#pragma omp simd
      for (Index i = 0; i < n; ++i) {
        m[i] = mu * m[i] - lr * g[i];
        p[i] += mu * m[i] - lr * g[i];
      }
    else
#pragma omp simd
      for (Index i = 0; i < n; ++i) {
        m[i] = mu * m[i] - lr * g[i];
        p[i] += m[i];
      }
  }

 private:
  SGDConfig c_;
};

template <class T>
class Adagrad : public Optimizer<T> {
 public:
  Adagrad(const OptimizerConfig& base, const AdagradConfig& c) : Optimizer<T>(base), c_(c) {
    check_non_negative(c.initial_accumulator_value, "initial_accumulator_value");
    check_non_negative(c.epsilon, "epsilon");
  }
  std::vector<std::string> slot_names() const override { return {"accumulator"}; }

 protected:
  T slot_initial_value(size_t) const override { return T(c_.initial_accumulator_value); }
  void update(T* p, const T* g, Index offset, Index n,
              const typename Optimizer<T>::StepScalars& s) override {
    T* acc = this->slot_data(0, offset);
    const T lr = s.lr, eps = T(c_.epsilon);
#pragma omp simd
    for (Index i = 0; i < n; ++i) {
      acc[i] += g[i] * g[i];
      p[i] -= lr * g[i] / std::sqrt(acc[i] + eps);
    }
  }

 private:
  AdagradConfig c_;
};

template <class T>
class RMSprop : public Optimizer<T> {
 public:
  RMSprop(const OptimizerConfig& base, const RMSpropConfig& c) : Optimizer<T>(base), c_(c) {
    check_non_negative(c.rho, "rho");
    check_non_negative(c.momentum, "momentum");
    check_non_negative(c.epsilon, "epsilon");
  }
  std::vector<std::string> slot_names() const override {
    std::vector<std::string> names{"velocity"};
    if (c_.momentum > 0) names.emplace_back("momentum");
    if (c_.centered) names.emplace_back("average_gradient");
    return names;
  }

 protected:
  void update(T* p, const T* g, Index offset, Index n,
              const typename Optimizer<T>::StepScalars& s) override {
    T* vel = this->slot_data(0, offset);
    T* mom = c_.momentum > 0 ? this->slot_data(1, offset) : nullptr;
    T* avg = c_.centered ? this->slot_data(c_.momentum > 0 ? 2 : 1, offset) : nullptr;
    // One branch-free loop per variant, so that each vectorises.
    if (mom && avg)
      rule<true, true>(p, g, vel, mom, avg, n, s.lr);
    else if (mom)
      rule<true, false>(p, g, vel, mom, avg, n, s.lr);
    else if (avg)
      rule<false, true>(p, g, vel, mom, avg, n, s.lr);
    else
      rule<false, false>(p, g, vel, mom, avg, n, s.lr);
  }

 private:
  template <bool kMomentum, bool kCentered>
  void rule(T* p, const T* g, T* vel, T* mom, T* avg, Index n, T lr) const {
    const T rho = T(c_.rho), eps = T(c_.epsilon), mu = T(c_.momentum);
#pragma omp simd
    for (Index i = 0; i < n; ++i) {
      vel[i] = rho * vel[i] + (T(1) - rho) * g[i] * g[i];
      T denominator = vel[i];
      if constexpr (kCentered) {
        avg[i] = rho * avg[i] + (T(1) - rho) * g[i];
        denominator -= avg[i] * avg[i];
      }
      const T increment = lr * g[i] / std::sqrt(denominator + eps);
      if constexpr (kMomentum) {
        mom[i] = mu * mom[i] + increment;
        p[i] -= mom[i];
      } else {
        p[i] -= increment;
      }
    }
  }

  RMSpropConfig c_;
};

template <class T>
class Adam : public Optimizer<T> {
 public:
  Adam(const OptimizerConfig& base, const AdamConfig& c) : Optimizer<T>(base), c_(c) {
    check_non_negative(c.beta_1, "beta_1");
    check_non_negative(c.beta_2, "beta_2");
    check_non_negative(c.epsilon, "epsilon");
  }
  std::vector<std::string> slot_names() const override {
    if (c_.amsgrad) return {"momentum", "velocity", "velocity_hat"};
    return {"momentum", "velocity"};
  }

 protected:
  void update(T* p, const T* g, Index offset, Index n,
              const typename Optimizer<T>::StepScalars& s) override {
    T* m = this->slot_data(0, offset);
    T* v = this->slot_data(1, offset);
    T* v_hat = c_.amsgrad ? this->slot_data(2, offset) : nullptr;
    // Keras computes the bias corrections in the variable's dtype.
    const T b1 = T(c_.beta_1), b2 = T(c_.beta_2), eps = T(c_.epsilon);
    const T t = T(s.step);
    const T alpha = s.lr * std::sqrt(T(1) - std::pow(b2, t)) / (T(1) - std::pow(b1, t));
    // Two loops rather than a branch per element, so that both vectorise.
    if (v_hat) {
#pragma omp simd
      for (Index i = 0; i < n; ++i) {
        m[i] += (g[i] - m[i]) * (T(1) - b1);
        v[i] += (g[i] * g[i] - v[i]) * (T(1) - b2);
        v_hat[i] = std::max(v_hat[i], v[i]);
        p[i] -= (m[i] * alpha) / (std::sqrt(v_hat[i]) + eps);
      }
    } else {
#pragma omp simd
      for (Index i = 0; i < n; ++i) {
        m[i] += (g[i] - m[i]) * (T(1) - b1);
        v[i] += (g[i] * g[i] - v[i]) * (T(1) - b2);
        p[i] -= (m[i] * alpha) / (std::sqrt(v[i]) + eps);
      }
    }
  }

 private:
  AdamConfig c_;
};

// Adam with the infinity norm: u = max(beta_2 u, |g|), var -= lr m / ((1 - beta_1^t)(u + eps)).
template <class T>
class Adamax : public Optimizer<T> {
 public:
  Adamax(const OptimizerConfig& base, const AdamaxConfig& c) : Optimizer<T>(base), c_(c) {
    check_non_negative(c.beta_1, "beta_1");
    check_non_negative(c.beta_2, "beta_2");
    check_non_negative(c.epsilon, "epsilon");
  }
  std::vector<std::string> slot_names() const override { return {"momentum", "norm"}; }

 protected:
  void update(T* p, const T* g, Index offset, Index n,
              const typename Optimizer<T>::StepScalars& s) override {
    T* m = this->slot_data(0, offset);
    T* u = this->slot_data(1, offset);
    const T b1 = T(c_.beta_1), b2 = T(c_.beta_2), eps = T(c_.epsilon);
    const T correction = T(1) - std::pow(b1, T(s.step));  // in the variable's dtype, as Keras
#pragma omp simd
    for (Index i = 0; i < n; ++i) {
      m[i] += (g[i] - m[i]) * (T(1) - b1);
      u[i] = std::max(b2 * u[i], std::abs(g[i]));
      p[i] -= (s.lr * m[i]) / (correction * (u[i] + eps));
    }
  }

 private:
  AdamaxConfig c_;
};

// Adadelta: the step's size from running averages of squared gradients and squared steps.
template <class T>
class Adadelta : public Optimizer<T> {
 public:
  Adadelta(const OptimizerConfig& base, const AdadeltaConfig& c) : Optimizer<T>(base), c_(c) {
    check_non_negative(c.rho, "rho");
    check_non_negative(c.epsilon, "epsilon");
  }
  std::vector<std::string> slot_names() const override {
    return {"accumulated_grad", "accumulated_delta_var"};
  }

 protected:
  void update(T* p, const T* g, Index offset, Index n,
              const typename Optimizer<T>::StepScalars& s) override {
    T* grads = this->slot_data(0, offset);
    T* deltas = this->slot_data(1, offset);
    const T rho = T(c_.rho), eps = T(c_.epsilon);
#pragma omp simd
    for (Index i = 0; i < n; ++i) {
      grads[i] = rho * grads[i] + (T(1) - rho) * (g[i] * g[i]);
      const T delta = -((std::sqrt(deltas[i] + eps) * g[i]) / std::sqrt(grads[i] + eps));
      deltas[i] = rho * deltas[i] + (T(1) - rho) * (delta * delta);
      p[i] += s.lr * delta;
    }
  }

 private:
  AdadeltaConfig c_;
};

// Lion: var -= lr sign(beta_1 m + (1 - beta_1) g), then m = beta_2 m + (1 - beta_2) g.
template <class T>
class Lion : public Optimizer<T> {
 public:
  Lion(const OptimizerConfig& base, const LionConfig& c) : Optimizer<T>(base), c_(c) {
    if (!(c.beta_1 > 0 && c.beta_1 <= 1))
      throw std::invalid_argument(
          "Argument `beta_1` must be in the [0, 1] range. Otherwise, the "
          "optimizer degenerates to SignSGD. Received: beta_1=" +
          std::to_string(c.beta_1) + ".");
    check_non_negative(c.beta_2, "beta_2");
  }
  std::vector<std::string> slot_names() const override { return {"momentum"}; }

 protected:
  void update(T* p, const T* g, Index offset, Index n,
              const typename Optimizer<T>::StepScalars& s) override {
    T* m = this->slot_data(0, offset);
    const T b1 = T(c_.beta_1), b2 = T(c_.beta_2);
#pragma omp simd
    for (Index i = 0; i < n; ++i) {
      const T mixed = m[i] * b1 + g[i] * (T(1) - b1);
      // sign(), NaN kept (as ops.sign)
      const T sign = mixed > 0 ? T(1) : (mixed < 0 ? T(-1) : mixed);
      p[i] -= s.lr * sign;
      m[i] = m[i] * b2 + g[i] * (T(1) - b2);
    }
  }

 private:
  LionConfig c_;
};

// FTRL-Proximal, Keras's rule: with new = accum + g^2 and p = -learning_rate_power,
// linear += g + 2 l2_shrinkage var - (new^p - accum^p) / lr var, then
// var = (clip(linear, -l1, l1) - linear) / (new^p / lr + 2 (l2 + beta / (2 lr))).
template <class T>
class Ftrl : public Optimizer<T> {
 public:
  Ftrl(const OptimizerConfig& base, const FtrlConfig& c) : Optimizer<T>(base), c_(c) {
    check_non_negative(c.initial_accumulator_value, "initial_accumulator_value");
    check_non_negative(-c.learning_rate_power, "-learning_rate_power");
    check_non_negative(c.l1, "l1_regularization_strength");
    check_non_negative(c.l2, "l2_regularization_strength");
    check_non_negative(c.l2_shrinkage, "l2_shrinkage_regularization_strength");
  }
  std::vector<std::string> slot_names() const override { return {"accumulator", "linear"}; }

 protected:
  T slot_initial_value(size_t i) const override {
    return i == 0 ? T(c_.initial_accumulator_value) : T(0);
  }
  void update(T* p, const T* g, Index offset, Index n,
              const typename Optimizer<T>::StepScalars& s) override {
    T* accum = this->slot_data(0, offset);
    T* linear = this->slot_data(1, offset);
    const T power = T(-c_.learning_rate_power), l1 = T(c_.l1);
    const T shrink = T(2 * c_.l2_shrinkage);
    const T l2 = T(c_.l2) + T(c_.beta) / (T(2) * s.lr);
    for (Index i = 0; i < n; ++i) {
      const T fresh = accum[i] + g[i] * g[i];
      const T grown = std::pow(fresh, power);
      linear[i] += g[i] + shrink * p[i] - (grown - std::pow(accum[i], power)) / s.lr * p[i];
      const T quadratic = grown / s.lr + T(2) * l2;
      const T clipped = std::min(std::max(linear[i], -l1), l1);
      p[i] = (clipped - linear[i]) / quadratic;
      accum[i] = fresh;
    }
  }

 private:
  FtrlConfig c_;
};

// LAMB: Adam's bias-corrected step u = m_hat / (sqrt(v_hat) + eps), scaled per variable by
// the trust ratio ||var|| / ||u|| (1 when either norm is 0): var -= ratio lr u.
template <class T>
class Lamb : public Optimizer<T> {
 public:
  Lamb(const OptimizerConfig& base, const LambConfig& c) : Optimizer<T>(base), c_(c) {
    check_non_negative(c.beta_1, "beta_1");
    check_non_negative(c.beta_2, "beta_2");
    check_non_negative(c.epsilon, "epsilon");
  }
  std::vector<std::string> slot_names() const override { return {"momentum", "velocity"}; }

 protected:
  bool whole_variables() const override { return true; }
  void update(T* p, const T* g, Index offset, Index n,
              const typename Optimizer<T>::StepScalars& s) override {
    T* m = this->slot_data(0, offset);
    T* v = this->slot_data(1, offset);
    const T b1 = T(c_.beta_1), b2 = T(c_.beta_2), eps = T(c_.epsilon);
    const T t = T(s.step);
    const T c1 = T(1) - std::pow(b1, t), c2 = T(1) - std::pow(b2, t);
    const auto step_of = [&](Index i) { return (m[i] / c1) / (std::sqrt(v[i] / c2) + eps); };
    double weights = 0, steps = 0;  // squared norms of the variable and of its step
    for (Index i = 0; i < n; ++i) {
      m[i] += (g[i] - m[i]) * (T(1) - b1);
      v[i] += (g[i] * g[i] - v[i]) * (T(1) - b2);
      const double u = double(step_of(i));
      weights += double(p[i]) * double(p[i]);
      steps += u * u;
    }
    const T ratio = weights > 0 && steps > 0 ? T(std::sqrt(weights) / std::sqrt(steps)) : T(1);
    for (Index i = 0; i < n; ++i) p[i] -= ratio * s.lr * step_of(i);
  }

 private:
  LambConfig c_;
};

}  // namespace

template <class T>
std::unique_ptr<Optimizer<T>> make_ftrl(const OptimizerConfig& base, const FtrlConfig& c) {
  return std::make_unique<Ftrl<T>>(base, c);
}

template <class T>
std::unique_ptr<Optimizer<T>> make_lamb(const OptimizerConfig& base, const LambConfig& c) {
  return std::make_unique<Lamb<T>>(base, c);
}

template <class T>
std::unique_ptr<Optimizer<T>> make_sgd(const OptimizerConfig& base, const SGDConfig& c) {
  return std::make_unique<SGD<T>>(base, c);
}
// Nadam (Keras 3): Adam with Nesterov momentum under the schedule u_t = beta_1 (1 - 0.5 *
// 0.96^t). The running product of the u_t is state besides the slots (saved with them).
template <class T>
class Nadam : public Optimizer<T> {
 public:
  Nadam(const OptimizerConfig& base, const NadamConfig& c) : Optimizer<T>(base), c_(c) {
    check_non_negative(c.beta_1, "beta_1");
    check_non_negative(c.beta_2, "beta_2");
    check_non_negative(c.epsilon, "epsilon");
  }
  std::vector<std::string> slot_names() const override { return {"momentum", "velocity"}; }
  std::vector<double> scalar_state() const override { return {double(u_product_)}; }
  void set_scalar_state(const std::vector<double>& values) override {
    if (values.size() != 1 || !std::isfinite(values[0]))
      throw std::invalid_argument("Nadam's state is one finite number (the momentum product)");
    u_product_ = T(values[0]);
  }

 protected:
  // In the variables' dtype and Keras's order of operations.
  T schedule(int64_t step) const {
    return T(c_.beta_1) * (T(1) - T(0.5) * std::pow(T(0.96), T(step)));
  }
  void begin_step(const typename Optimizer<T>::StepScalars& s) override {
    u_product_ = u_product_ * T(c_.beta_1) * (T(1) - T(0.5) * std::pow(T(0.96), T(s.step)));
  }
  void update(T* p, const T* g, Index offset, Index n,
              const typename Optimizer<T>::StepScalars& s) override {
    T* m = this->slot_data(0, offset);
    T* v = this->slot_data(1, offset);
    const T b1 = T(c_.beta_1), b2 = T(c_.beta_2), eps = T(c_.epsilon);
    const T u_t = schedule(s.step), u_t_1 = schedule(s.step + 1);
    const T u_product_t_1 = u_product_ * u_t_1;
    const T beta_2_power = std::pow(b2, T(s.step));
#pragma omp simd
    for (Index i = 0; i < n; ++i) {
      m[i] += (g[i] - m[i]) * (T(1) - b1);
      v[i] += (g[i] * g[i] - v[i]) * (T(1) - b2);
      const T m_hat =
          u_t_1 * m[i] / (T(1) - u_product_t_1) + (T(1) - u_t) * g[i] / (T(1) - u_product_);
      const T v_hat = v[i] / (T(1) - beta_2_power);
      p[i] -= (m_hat * s.lr) / (std::sqrt(v_hat) + eps);
    }
  }

 private:
  NadamConfig c_;
  T u_product_ = T(1);
};

template <class T>
std::unique_ptr<Optimizer<T>> make_adagrad(const OptimizerConfig& base, const AdagradConfig& c) {
  return std::make_unique<Adagrad<T>>(base, c);
}
template <class T>
std::unique_ptr<Optimizer<T>> make_rmsprop(const OptimizerConfig& base, const RMSpropConfig& c) {
  return std::make_unique<RMSprop<T>>(base, c);
}
template <class T>
std::unique_ptr<Optimizer<T>> make_adam(const OptimizerConfig& base, const AdamConfig& c) {
  return std::make_unique<Adam<T>>(base, c);
}

template <class T>
std::unique_ptr<Optimizer<T>> make_adamax(const OptimizerConfig& base, const AdamaxConfig& c) {
  return std::make_unique<Adamax<T>>(base, c);
}

template <class T>
std::unique_ptr<Optimizer<T>> make_adadelta(const OptimizerConfig& base, const AdadeltaConfig& c) {
  return std::make_unique<Adadelta<T>>(base, c);
}

template <class T>
std::unique_ptr<Optimizer<T>> make_lion(const OptimizerConfig& base, const LionConfig& c) {
  return std::make_unique<Lion<T>>(base, c);
}

template <class T>
std::unique_ptr<Optimizer<T>> make_nadam(const OptimizerConfig& base, const NadamConfig& c) {
  return std::make_unique<Nadam<T>>(base, c);
}

#define EIGENNET_INSTANTIATE(T)                                                                   \
  template class Optimizer<T>;                                                                    \
  template std::unique_ptr<Optimizer<T>> make_sgd<T>(const OptimizerConfig&, const SGDConfig&);   \
  template std::unique_ptr<Optimizer<T>> make_adagrad<T>(const OptimizerConfig&,                  \
                                                         const AdagradConfig&);                   \
  template std::unique_ptr<Optimizer<T>> make_rmsprop<T>(const OptimizerConfig&,                  \
                                                         const RMSpropConfig&);                   \
  template std::unique_ptr<Optimizer<T>> make_adam<T>(const OptimizerConfig&, const AdamConfig&); \
  template std::unique_ptr<Optimizer<T>> make_adamax<T>(const OptimizerConfig&,                   \
                                                        const AdamaxConfig&);                     \
  template std::unique_ptr<Optimizer<T>> make_adadelta<T>(const OptimizerConfig&,                 \
                                                          const AdadeltaConfig&);                 \
  template std::unique_ptr<Optimizer<T>> make_lion<T>(const OptimizerConfig&, const LionConfig&); \
  template std::unique_ptr<Optimizer<T>> make_nadam<T>(const OptimizerConfig&,                    \
                                                       const NadamConfig&);                       \
  template std::unique_ptr<Optimizer<T>> make_ftrl<T>(const OptimizerConfig&, const FtrlConfig&); \
  template std::unique_ptr<Optimizer<T>> make_lamb<T>(const OptimizerConfig&, const LambConfig&);
EIGENNET_INSTANTIATE(float)
EIGENNET_INSTANTIATE(double)
#undef EIGENNET_INSTANTIATE

}  // namespace eigennet
