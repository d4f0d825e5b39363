#include "eigennet/schedules.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace eigennet {

LearningRateSchedule::Kind LearningRateSchedule::kind_from_name(const std::string& name) {
  if (name == "ExponentialDecay") return Kind::Exponential;
  if (name == "PiecewiseConstantDecay") return Kind::PiecewiseConstant;
  if (name == "PolynomialDecay") return Kind::Polynomial;
  if (name == "InverseTimeDecay") return Kind::InverseTime;
  if (name == "CosineDecay") return Kind::Cosine;
  if (name == "CosineDecayRestarts") return Kind::CosineRestarts;
  throw std::invalid_argument("Unknown learning-rate schedule '" + name + "'");
}

void LearningRateSchedule::validate() const {
  if (kind == Kind::PiecewiseConstant) {
    if (values.size() != boundaries.size() + 1)
      throw std::invalid_argument("PiecewiseConstantDecay needs one more value than boundaries");
    return;
  }
  if (!(decay_steps > 0)) throw std::invalid_argument("decay_steps must be > 0");
  if (kind == Kind::CosineRestarts && !(t_mul > 0))
    throw std::invalid_argument("t_mul must be > 0");
}

double LearningRateSchedule::at(int64_t step_count) const {
  const double step = double(step_count);
  switch (kind) {
    case Kind::Exponential: {
      double p = step / decay_steps;
      if (staircase) p = std::floor(p);
      return initial_learning_rate * std::pow(decay_rate, p);
    }
    case Kind::PiecewiseConstant: {
      for (size_t i = 0; i < boundaries.size(); ++i)
        if (step <= boundaries[i]) return values[i];
      return values.back();
    }
    case Kind::Polynomial: {
      double steps = decay_steps, s = step;
      if (cycle)
        steps *= s == 0 ? 1.0 : std::ceil(s / decay_steps);
      else
        s = std::min(s, steps);
      const double p = s / steps;
      return (initial_learning_rate - end_learning_rate) * std::pow(1 - p, power) +
             end_learning_rate;
    }
    case Kind::InverseTime: {
      double p = step / decay_steps;
      if (staircase) p = std::floor(p);
      return initial_learning_rate / (1 + decay_rate * p);
    }
    case Kind::Cosine: {
      auto decay = [&](double s, double from) {
        const double cosine = 0.5 * (1 + std::cos(M_PI * s / decay_steps));
        return from * ((1 - alpha) * cosine + alpha);
      };
      if (!has_warmup) return decay(std::min(step, decay_steps), initial_learning_rate);
      const double s = std::min(step, decay_steps + warmup_steps);
      if (s < warmup_steps)
        return (warmup_target - initial_learning_rate) * (s / warmup_steps) + initial_learning_rate;
      return decay(s - warmup_steps, warmup_target);
    }
    case Kind::CosineRestarts: {
      double fraction = step / decay_steps, restart;
      if (t_mul == 1) {
        restart = std::floor(fraction);
        fraction -= restart;
      } else {
        restart = std::floor(std::log(1 - fraction * (1 - t_mul)) / std::log(t_mul));
        const double done = (1 - std::pow(t_mul, restart)) / (1 - t_mul);
        fraction = (fraction - done) / std::pow(t_mul, restart);
      }
      const double cosine = 0.5 * std::pow(m_mul, restart) * (1 + std::cos(M_PI * fraction));
      return initial_learning_rate * ((1 - alpha) * cosine + alpha);
    }
  }
  return initial_learning_rate;
}

}  // namespace eigennet
