// Optimizers with Keras 3 update rules. The base owns what every optimizer shares: gradient
// clipping (clipnorm per weight tensor, global_clipnorm, clipvalue), decoupled weight decay
// (var -= var * weight_decay * lr, before the update, as Keras's base optimizer), the step
// counter (advanced once per step) and the slot buffers — one flat buffer per slot, laid out
// like the flat gradient buffer. A subclass names its slots and its per-element rule.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "eigennet/schedules.hpp"
#include "eigennet/tensor.hpp"

namespace eigennet {

// One weight tensor: where it lives and where its gradient sits in the flat gradient buffer.
template <class T>
struct Segment {
  T* param;
  Index size;
  Index offset;
};

struct OptimizerConfig {
  double learning_rate = 0.001;
  double weight_decay = 0;     // 0: none
  double clipnorm = 0;         // 0: none
  double global_clipnorm = 0;  // 0: none
  double clipvalue = 0;        // 0: none
};

template <class T>
class Optimizer {
 public:
  explicit Optimizer(const OptimizerConfig& config);
  virtual ~Optimizer() = default;

  // Creates the slots for these variables (Keras's optimizer.build): one flat buffer per slot,
  // the variables laid out one after the other in the given order.
  void build(const std::vector<Segment<T>>& variables);
  // One step over the segments (any subset of the variables it was built with, as Keras
  // allows when some become frozen); grad is the flat gradient buffer (clipped in place).
  // The first step builds the optimizer for its segments when build was not called.
  void step(const std::vector<Segment<T>>& segments, T* grad);
  // Where each variable's slots start in the slot buffers, in build order (for saving).
  const std::vector<Index>& slot_offsets() const { return slot_offsets_; }

  int64_t iterations() const { return iterations_; }
  void set_iterations(int64_t n) { iterations_ = n; }
  // The rate of the next step: the schedule's value at iterations() when there is one.
  double learning_rate() const {
    return has_schedule_ ? schedule_.at(iterations_) : config_.learning_rate;
  }
  void set_learning_rate(double lr);
  void set_schedule(const LearningRateSchedule& schedule);
  bool has_schedule() const { return has_schedule_; }
  bool built() const { return built_; }

  // Keras's LossScaleOptimizer (dynamic loss scaling, for float16 products). Training scales
  // the loss gradient by loss_scale() and unscales the weight gradients before step(); step()
  // then skips an update whose gradient holds NaN or inf (weights, slots and iterations stay
  // as they were) and halves the scale, and doubles it after growth_steps finite steps in a
  // row. Off, loss_scale() is 1.
  void enable_loss_scale(double initial_scale, int64_t growth_steps);
  bool loss_scaling() const { return loss_scaling_; }
  double loss_scale() const { return loss_scaling_ ? scale_ : 1.0; }
  void set_loss_scale(double scale);
  int64_t loss_scale_counter() const { return scale_counter_; }
  void set_loss_scale_counter(int64_t n);

  // Slot state for saving and tests: names and the flat buffers.
  virtual std::vector<std::string> slot_names() const = 0;
  AlignedVector<T>& slot(size_t i) { return slot_buffers_.at(i); }
  // A rule's state besides its slots (Nadam's running momentum product), saved with them.
  virtual std::vector<double> scalar_state() const { return {}; }
  virtual void set_scalar_state(const std::vector<double>& values);

 protected:
  struct StepScalars {
    T lr;
    int64_t step;  // 1-based step number of this update
  };
  virtual T slot_initial_value(size_t) const { return T(0); }
  // Runs once per step, before update() runs on the segments (in parallel).
  virtual void begin_step(const StepScalars&) {}
  // Whether update() needs each variable whole (a rule with per-variable norms, as Lamb's):
  // the threads then share the variables out, not the elements of each.
  virtual bool whole_variables() const { return false; }
  // Updates params p[0..n) with gradient g; `offset` locates them in the slot buffers.
  virtual void update(T* p, const T* g, Index offset, Index n, const StepScalars& s) = 0;
  T* slot_data(size_t i, Index offset) { return slot_buffers_[i].data() + offset; }

 private:
  // The slot offset of each segment, or an error naming a variable it was not built with.
  void locate(const std::vector<Segment<T>>& segments);
  void clip(const std::vector<Segment<T>>& segments, T* grad) const;

  OptimizerConfig config_;
  LearningRateSchedule schedule_;
  bool has_schedule_ = false;
  int64_t iterations_ = 0;
  bool built_ = false;
  bool loss_scaling_ = false;
  double scale_ = 1;
  int64_t scale_counter_ = 0;  // finite steps since the scale last changed
  int64_t growth_steps_ = 0;
  std::unordered_map<const T*, std::pair<Index, Index>> known_;  // param -> (slot offset, size)
  std::vector<Index> slot_offsets_;                              // in build order
  std::vector<Index> step_offsets_;  // per segment of the current step; reused, no allocation
  std::vector<AlignedVector<T>> slot_buffers_;
};

struct SGDConfig {
  double momentum = 0;
  bool nesterov = false;
};
struct AdagradConfig {
  double initial_accumulator_value = 0.1;
  double epsilon = 1e-7;
};
struct RMSpropConfig {
  double rho = 0.9;
  double momentum = 0;
  double epsilon = 1e-7;
  bool centered = false;
};
struct AdamConfig {
  double beta_1 = 0.9;
  double beta_2 = 0.999;
  double epsilon = 1e-7;
  bool amsgrad = false;
};

struct AdamaxConfig {
  double beta_1 = 0.9;
  double beta_2 = 0.999;
  double epsilon = 1e-7;
};
struct AdadeltaConfig {
  double rho = 0.95;
  double epsilon = 1e-7;
};
struct LionConfig {
  double beta_1 = 0.9;
  double beta_2 = 0.99;
};
struct FtrlConfig {
  double learning_rate_power = -0.5;
  double initial_accumulator_value = 0.1;
  double l1 = 0, l2 = 0, l2_shrinkage = 0;  // the *_regularization_strength arguments
  double beta = 0;
};
struct LambConfig {
  double beta_1 = 0.9;
  double beta_2 = 0.999;
  double epsilon = 1e-7;
};
struct NadamConfig {
  double beta_1 = 0.9;
  double beta_2 = 0.999;
  double epsilon = 1e-7;
};

template <class T>
std::unique_ptr<Optimizer<T>> make_sgd(const OptimizerConfig& base, const SGDConfig& c);
template <class T>
std::unique_ptr<Optimizer<T>> make_adagrad(const OptimizerConfig& base, const AdagradConfig& c);
template <class T>
std::unique_ptr<Optimizer<T>> make_rmsprop(const OptimizerConfig& base, const RMSpropConfig& c);
// Adam and AdamW share the rule; AdamW is Adam with base.weight_decay set.
template <class T>
std::unique_ptr<Optimizer<T>> make_adam(const OptimizerConfig& base, const AdamConfig& c);
template <class T>
std::unique_ptr<Optimizer<T>> make_adamax(const OptimizerConfig& base, const AdamaxConfig& c);
template <class T>
std::unique_ptr<Optimizer<T>> make_adadelta(const OptimizerConfig& base, const AdadeltaConfig& c);
template <class T>
std::unique_ptr<Optimizer<T>> make_lion(const OptimizerConfig& base, const LionConfig& c);
template <class T>
std::unique_ptr<Optimizer<T>> make_nadam(const OptimizerConfig& base, const NadamConfig& c);
template <class T>
std::unique_ptr<Optimizer<T>> make_ftrl(const OptimizerConfig& base, const FtrlConfig& c);
template <class T>
std::unique_ptr<Optimizer<T>> make_lamb(const OptimizerConfig& base, const LambConfig& c);

}  // namespace eigennet
