// DenseOp: `act(x @ kernel + bias)` of a custom layer, as one node. When a traced call()
// computes ops.matmul(x, kernel) with weights of its own, adds a bias and applies an activation,
// the graph builder fuses the three ops into this one (models/graph_builder.py), which runs the
// Dense layer's fused product (dense_forward/dense_backward): one pass over the output instead
// of three, forward and backward. Inputs: x (batched, last axis `in`), kernel (in, units) and
// optionally bias (units,), the latter two usually weight sources. With `contracted` > 1, x's
// last `contracted` axes meet the kernel's first ones and the kernel's other axes are the
// output's (an einsum such as "bld,dnh->blnh" plus a bias (n, h): MultiHeadAttention's
// projections); the bias then has the kernel's other axes.
#pragma once

#include "eigennet/activations.hpp"
#include "eigennet/ops/op.hpp"
#include "eigennet/workspace.hpp"

namespace eigennet {

template <class T>
class DenseOp : public Op<T> {
 public:
  // Throws std::invalid_argument unless the shapes are those of x @ kernel + bias.
  DenseOp(const Shape& x, const Shape& kernel, const Shape* bias, Activation activation,
          Index contracted = 1);
  std::shared_ptr<Layer<T>> clone() const override { return std::make_shared<DenseOp>(*this); }

 protected:
  void compute(const T* const* xs, T* y, bool training) override;
  void gradient(const T* const* xs, const T* y, T* grad_y, T* const* grad_xs) override;

 private:
  Index in_, units_;
  bool bias_;
  Activation activation_;
  Workspace<T> preactivation_;
};

}  // namespace eigennet
