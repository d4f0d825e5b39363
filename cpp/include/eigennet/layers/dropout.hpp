// Dropout (inverted): in training each value is zeroed with probability `rate` and the rest
// divided by 1 - rate; in inference it is the identity. Masks come from a counter-based
// generator seeded per layer, one draw per training forward.
#pragma once

#include <cstdint>
#include <utility>

#include "eigennet/layer.hpp"
#include "eigennet/random.hpp"
#include "eigennet/workspace.hpp"

namespace eigennet {

template <class T>
class Dropout : public Layer<T> {
 public:
  Dropout(double rate, uint64_t seed);
  std::shared_ptr<Layer<T>> clone() const override { return std::make_shared<Dropout>(*this); }
  void forward(ConstMatrixMap<T> x, MatrixMap<T> y, bool training) override;
  void backward(ConstMatrixMap<T> x, ConstMatrixMap<T> y, MatrixMap<T> grad_y, T* param_grad,
                MatrixMap<T>* grad_x) override;
  // (seed, draws so far) decides every later mask: saved with the model so that training
  // continues bit-identically after loading.
  std::pair<uint64_t, uint64_t> rng_state() const { return stream_.state(); }
  void set_rng_state(std::pair<uint64_t, uint64_t> state) { stream_.set_state(state); }

 protected:
  Shape do_build(const Shape& input_shape) override { return input_shape; }

 private:
  double rate_;
  RandomStream stream_;
  bool masked_ = false;  // whether the last forward applied a mask
  Workspace<T> mask_;    // 1 where the last training forward kept a value, else 0
};

}  // namespace eigennet
