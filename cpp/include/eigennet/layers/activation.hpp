// Activation layer: y = act(x), no weights.
#pragma once

#include <stdexcept>

#include "eigennet/activations.hpp"
#include "eigennet/layer.hpp"

namespace eigennet {

template <class T>
class ActivationLayer : public Layer<T> {
 public:
  explicit ActivationLayer(Activation activation) : activation_(activation) {}
  std::shared_ptr<Layer<T>> clone() const override {
    return std::make_shared<ActivationLayer>(*this);
  }

  // Viewed as (rows * outer, last axis) so that softmax normalises over the last axis.
  void forward(ConstMatrixMap<T> x, MatrixMap<T> y, bool) override {
    activation_forward<T>(activation_, last_axis(x), last_axis(y));
  }
  void backward(ConstMatrixMap<T> x, ConstMatrixMap<T> y, MatrixMap<T> grad_y, T*,
                MatrixMap<T>* grad_x) override {
    if (!grad_x) return;
    activation_backward<T>(activation_, last_axis(x), last_axis(y), last_axis(grad_y));
    *grad_x = grad_y;
  }

 protected:
  Shape do_build(const Shape& input_shape) override {
    if (input_shape.empty()) throw std::invalid_argument("Activation needs an input of rank >= 2");
    last_ = input_shape.back();
    return input_shape;
  }

 private:
  ConstMatrixMap<T> last_axis(const ConstMatrixMap<T>& m) const {
    return {m.data(), m.size() / last_, last_};
  }
  MatrixMap<T> last_axis(MatrixMap<T> m) const { return {m.data(), m.size() / last_, last_}; }

  Activation activation_;
  Index last_ = 1;
};

}  // namespace eigennet
