// Learning-rate schedules with Keras 3's formulas, evaluated natively at every step from the
// optimizer's iteration count (before the step advances it, as Keras).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace eigennet {

struct LearningRateSchedule {
  enum class Kind {
    Exponential,
    PiecewiseConstant,
    Polynomial,
    InverseTime,
    Cosine,
    CosineRestarts
  };
  Kind kind = Kind::Exponential;
  double initial_learning_rate = 0;
  double decay_steps = 1;  // first_decay_steps for CosineRestarts
  double decay_rate = 1;
  bool staircase = false;
  double end_learning_rate = 1e-4, power = 1;
  bool cycle = false;
  double alpha = 0;
  bool has_warmup = false;
  double warmup_target = 0, warmup_steps = 0;
  double t_mul = 2, m_mul = 1;
  std::vector<double> boundaries, values;

  static Kind kind_from_name(const std::string& name);
  // Throws std::invalid_argument on arguments Keras rejects (decay_steps <= 0, ...).
  void validate() const;
  double at(int64_t step) const;
};

}  // namespace eigennet
