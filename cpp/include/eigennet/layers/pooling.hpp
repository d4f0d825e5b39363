// MaxPooling1D/2D/3D, AveragePooling1D/2D/3D and their global forms, channels last.
// Max pooling routes the gradient to the first maximum of each window (PyTorch's choice, so
// ties after a relu match Keras's torch backend). Average
// pooling divides by the number of window positions inside the data, so 'same' borders average only
// real values (Keras with TensorFlow or JAX, and the torch backend since keras-team/keras#23233).
// Global pooling is a window covering the whole sample.
#pragma once

#include <cstdint>
#include <vector>

#include "eigennet/layer.hpp"
#include "eigennet/layers/window.hpp"
#include "eigennet/workspace.hpp"

namespace eigennet {

enum class PoolMode { Max, Average };

template <class T>
class Pool : public Layer<T> {
 public:
  // rank 1 (samples (steps, channels)), 2 ((rows, cols, channels)) or 3 ((depth, rows, cols,
  // channels)); pool_size and strides
  // hold one entry per spatial axis; padding 'valid' or 'same'.
  Pool(int rank, PoolMode mode, std::vector<Index> pool_size, std::vector<Index> strides,
       Padding padding);
  std::shared_ptr<Layer<T>> clone() const override { return std::make_shared<Pool>(*this); }
  void forward(ConstMatrixMap<T> x, MatrixMap<T> y, bool training) override;
  void backward(ConstMatrixMap<T> x, ConstMatrixMap<T> y, MatrixMap<T> grad_y, T* param_grad,
                MatrixMap<T>* grad_x) override;

 protected:
  // Global pooling: the window is the whole sample; output (channels) or, with keepdims,
  // (1[, 1[, 1]], channels).
  Pool(int rank, PoolMode mode, bool keepdims);
  Shape do_build(const Shape& input_shape) override;
  std::string name() const;

 private:
  int rank_;
  PoolMode mode_;
  bool global_, keepdims_ = false;
  std::vector<Index> pool_size_, strides_;
  Padding padding_ = Padding::Valid;
  Window window_;
  Index in_size_ = 0, out_size_ = 0;
  Workspace<int32_t> winners_;  // max: which tap of its window each output came from
};

template <class T>
class GlobalPool : public Pool<T> {
 public:
  GlobalPool(int rank, PoolMode mode, bool keepdims) : Pool<T>(rank, mode, keepdims) {}
  std::shared_ptr<Layer<T>> clone() const override { return std::make_shared<GlobalPool>(*this); }
};

}  // namespace eigennet
