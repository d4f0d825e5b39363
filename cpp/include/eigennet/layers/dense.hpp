// Dense: y = act(x · kernel + bias) over the last axis; kernel (in, units), bias (units).
// Forward and backward are whole-batch GEMMs.
#pragma once

#include "eigennet/activations.hpp"
#include "eigennet/layer.hpp"
#include "eigennet/workspace.hpp"

namespace eigennet {

// The dense product shared by the Dense layer and the fused DenseOp (a custom layer's
// matmul + bias + activation): y = act(x · kernel + bias + residual) for x (rows, in); bias
// and residual (rows, units) may be null. preactivation holds what the activation acts on
// when its backward needs it.
template <class T>
void dense_forward(ConstMatrixMap<T> x, const T* kernel, const T* bias, Index units,
                   Activation activation, MatrixMap<T> y, Workspace<T>& preactivation,
                   const T* residual = nullptr);
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
  // A copy of this built, linear layer (sharing its weights) computing a residual block's
  // end in one product: activation(x · kernel + bias + residual), with the residual (of the
  // output's shape) its second input. Its gradient passes to the residual unchanged. The
  // graph runs it for a Dense → Add → activation chain (graph_builder.py).
  std::shared_ptr<Layer<T>> with_residual(Activation activation) const;
  void forward(ConstMatrixMap<T> x, MatrixMap<T> y, bool training) override;
  void backward(ConstMatrixMap<T> x, ConstMatrixMap<T> y, MatrixMap<T> grad_y, T* param_grad,
                MatrixMap<T>* grad_x) override;
  void forward_inputs(const ConstMatrixMap<T>* xs, size_t n, MatrixMap<T> y,
                      bool training) override;  // with the residual when it has one
  void backward_inputs(const ConstMatrixMap<T>* xs, size_t n, ConstMatrixMap<T> y,
                       MatrixMap<T> grad_y, T* param_grad, MatrixMap<T>* const* grad_xs) override;

 protected:
  Shape do_build(const Shape& input_shape) override;
  Shape do_build_inputs(const std::vector<Shape>& input_shapes) override;

 private:
  Index units_, in_ = 0;
  Activation activation_;
  bool use_bias_;
  // The batch through the product; residual (the batch's shape) may be null.
  void forward_with(ConstMatrixMap<T> x, MatrixMap<T> y, const T* residual);

  bool residual_ = false;       // a second input added before the activation (with_residual)
  Workspace<T> preactivation_;  // kept only when the activation's backward needs its input
};

}  // namespace eigennet
