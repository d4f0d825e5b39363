// Embedding: integer indices (stored as floats in the batch matrix) -> rows of a
// (input_dim, output_dim) table. Input sample shape (T...) gives output (T..., output_dim).
// An index that is not an integer in [0, input_dim) raises before anything is written.
#pragma once

#include "eigennet/layer.hpp"

namespace eigennet {

template <class T>
class Embedding : public Layer<T> {
 public:
  Embedding(Index input_dim, Index output_dim);
  std::shared_ptr<Layer<T>> clone() const override { return std::make_shared<Embedding>(*this); }
  void forward(ConstMatrixMap<T> x, MatrixMap<T> y, bool training) override;
  // Scatter-adds grad_y into the table's gradient (dense, as Keras's on CPU); no input
  // gradient (indices are not differentiable: dL/dx is zero).
  void backward(ConstMatrixMap<T> x, ConstMatrixMap<T> y, MatrixMap<T> grad_y, T* param_grad,
                MatrixMap<T>* grad_x) override;

 protected:
  Shape do_build(const Shape& input_shape) override;

  Index input_dim_, output_dim_;
};

}  // namespace eigennet
