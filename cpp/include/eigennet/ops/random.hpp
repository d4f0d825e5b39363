// keras.random in traced graphs: ops that draw new values at every forward from a counter-based
// stream (eigennet/random.hpp), so results do not depend on the thread count and a seed makes a
// run reproducible. Copies of an op share its stream, as Dropout's copies do.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "eigennet/ops/op.hpp"
#include "eigennet/random.hpp"

namespace eigennet {

// Pure draws of `output` (full shape; kBatch at axis 0 takes the batch of `reference`, the op's
// one input, read only for its batch size and given a zero gradient). Kinds: "normal" (mean a,
// stddev b), "truncated_normal" (the same, values beyond 2 stddev redrawn, as Keras),
// "uniform" in [a, b), "randint" (integers in [a, b), as floats).
template <class T>
class RandomOp : public Op<T> {
 public:
  RandomOp(const std::string& kind, const Shape& reference, const Shape& output, uint64_t seed,
           double a, double b);
  std::shared_ptr<Layer<T>> clone() const override { return std::make_shared<RandomOp>(*this); }
  std::pair<uint64_t, uint64_t> rng_state() const { return stream_.state(); }
  void set_rng_state(std::pair<uint64_t, uint64_t> state) { stream_.set_state(state); }

 protected:
  void compute(const T* const* xs, T* y, bool training) override;
  void gradient(const T* const* xs, const T* y, T* grad_y, T* const* grad_xs) override;

 private:
  enum class Kind { Normal, TruncatedNormal, Uniform, Randint };
  Kind kind_;
  double a_, b_;
  RandomStream stream_;
};

// keras.random.dropout: in training each value is zeroed with probability `rate` and the rest
// divided by 1 - rate (the Dropout layer's masks); the identity in inference. `noise_shape`
// (the input's rank; each axis the input's or 1) shares one draw along its axes of length 1.
template <class T>
class DropoutOp : public Op<T> {
 public:
  DropoutOp(const Shape& input, double rate, const Shape& noise_shape, uint64_t seed);
  std::shared_ptr<Layer<T>> clone() const override { return std::make_shared<DropoutOp>(*this); }
  std::pair<uint64_t, uint64_t> rng_state() const { return stream_.state(); }
  void set_rng_state(std::pair<uint64_t, uint64_t> state) { stream_.set_state(state); }

 protected:
  void compute(const T* const* xs, T* y, bool training) override;
  void gradient(const T* const* xs, const T* y, T* grad_y, T* const* grad_xs) override;

 private:
  bool keeps(Index i) const;  // whether the last mask keeps element i

  double rate_;
  Shape noise_;  // full; axes of length 1 are shared
  RandomStream stream_;
  bool masked_ = false;            // whether the last forward applied a mask
  uint64_t seed_ = 0, draw_ = 0;   // the last mask's draw: backward recomputes it
  std::vector<Index> noise_step_;  // per axis of the concrete shape: its stride in the noise
};

// keras.random.shuffle: a random permutation along `axis` (new at every forward); its
// gradient sends each value back where it came from.
template <class T>
class ShuffleOp : public Op<T> {
 public:
  ShuffleOp(const Shape& input, Index axis, uint64_t seed);
  std::shared_ptr<Layer<T>> clone() const override { return std::make_shared<ShuffleOp>(*this); }
  std::pair<uint64_t, uint64_t> rng_state() const { return stream_.state(); }
  void set_rng_state(std::pair<uint64_t, uint64_t> state) { stream_.set_state(state); }

 protected:
  void compute(const T* const* xs, T* y, bool training) override;
  void gradient(const T* const* xs, const T* y, T* grad_y, T* const* grad_xs) override;

 private:
  Index axis_;
  RandomStream stream_;
  std::vector<Index> perm_;  // the last forward's: output j along the axis is input perm_[j]
};

}  // namespace eigennet
