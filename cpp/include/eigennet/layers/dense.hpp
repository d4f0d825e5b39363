// Dense: y = act(x · kernel + bias) over the last axis; kernel (in, units), bias (units).
// Forward and backward are whole-batch GEMMs.
#pragma once

#include "eigennet/activations.hpp"
#include "eigennet/layer.hpp"
#include "eigennet/workspace.hpp"

namespace eigennet {

// The dense product shared by the Dense layer and the fused DenseOp (a custom layer's
// matmul + bias + activation): y = act(x · kernel + bias) for x (rows, in); bias may be null.
// preactivation holds x · kernel + bias when the activation's backward needs it.
template <class T>
void dense_forward(ConstMatrixMap<T> x, const T* kernel, const T* bias, Index units,
                   Activation activation, MatrixMap<T> y, Workspace<T>& preactivation);
// Its backward: grad_y (overwritten) becomes dL/dz; kernel_grad, bias_grad and grad_x are
// written where non-null.
template <class T>
void dense_backward(ConstMatrixMap<T> x, ConstMatrixMap<T> y, MatrixMap<T> grad_y, const T* kernel,
                    Activation activation, const Workspace<T>& preactivation, T* kernel_grad,
                    T* bias_grad, T* grad_x);

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
