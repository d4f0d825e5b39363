// Dense: y = act(x · kernel + bias) over the last axis; kernel (in, units), bias (units).
// Forward and backward are whole-batch GEMMs.
#pragma once

#include "eigennet/activations.hpp"
#include "eigennet/layer.hpp"
#include "eigennet/workspace.hpp"

namespace eigennet {

template <class T>
class Dense : public Layer<T> {
 public:
  Dense(Index units, Activation activation, bool use_bias);
  std::shared_ptr<Layer<T>> clone() const override { return std::make_shared<Dense>(*this); }
  void forward(ConstMatrixMap<T> x, MatrixMap<T> y, bool training) override;
  void backward(ConstMatrixMap<T> x, ConstMatrixMap<T> y, MatrixMap<T> grad_y, T* param_grad,
                MatrixMap<T>* grad_x) override;

 protected:
  Shape do_build(const Shape& input_shape) override;

 private:
  Index units_, in_ = 0;
  Activation activation_;
  bool use_bias_;
  Workspace<T> preactivation_;  // kept only when the activation's backward needs its input
};

}  // namespace eigennet
