// keras.ops.conv, depthwise_conv, max_pool and average_pool (1-D and 2-D, channels last), with
// the kernel an input (an add_weight weight, usually) rather than a parameter. conv and the
// pools run the Conv2D / pooling layers' code (im2col + GEMM, Keras's padding rules) on a private
// layer: conv copies the kernel input into its layer's parameter block at each forward (a few
// KB) and takes the layer's kernel gradient as the kernel input's.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "eigennet/layers/conv.hpp"
#include "eigennet/layers/pooling.hpp"
#include "eigennet/layers/window.hpp"
#include "eigennet/ops/op.hpp"

namespace eigennet {

// inputs (B, [rows,] cols, C), kernel ([kr,] kc, C, F) -> (B, [rows',] cols', F). strides and
// dilation hold one entry per spatial axis; padding "valid" or "same".
template <class T>
class ConvOp : public Op<T> {
 public:
  ConvOp(const Shape& input, const Shape& kernel, const std::vector<Index>& strides,
         const std::string& padding, const std::vector<Index>& dilation);
  std::shared_ptr<Layer<T>> clone() const override;  // a fresh layer: scratch is per copy

 protected:
  void compute(const T* const* xs, T* y, bool training) override;
  void gradient(const T* const* xs, const T* y, T* grad_y, T* const* grad_xs) override;

 private:
  ConvOp(const Shape& input, const Shape& kernel, std::shared_ptr<Conv<T>> conv,
         std::vector<Index> strides, std::string padding, std::vector<Index> dilation);

  std::shared_ptr<Conv<T>> conv_;
  std::vector<Index> strides_, dilation_;
  std::string padding_;
};

// inputs (B, [rows,] cols, C), kernel ([kr,] kc, C, M) -> (B, [rows',] cols', C * M): channel
// c's filter m is output channel c * M + m (Keras's order).
template <class T>
class DepthwiseConvOp : public Op<T> {
 public:
  DepthwiseConvOp(const Shape& input, const Shape& kernel, const std::vector<Index>& strides,
                  const std::string& padding, const std::vector<Index>& dilation);
  std::shared_ptr<Layer<T>> clone() const override {
    return std::make_shared<DepthwiseConvOp>(*this);
  }

 protected:
  void compute(const T* const* xs, T* y, bool training) override;
  void gradient(const T* const* xs, const T* y, T* grad_y, T* const* grad_xs) override;

 private:
  DepthwiseConvOp(const Shape& input, const Shape& kernel, Window window);

  Window window_;  // of one sample
  Index multiplier_;
};

// mode "max" or "average"; inputs (B, [rows,] cols, C) -> (B, [rows',] cols', C). Average
// pooling divides by the window's positions inside the data (Keras's 'same' borders).
template <class T>
class PoolOp : public Op<T> {
 public:
  PoolOp(const std::string& mode, const Shape& input, const std::vector<Index>& pool_size,
         const std::vector<Index>& strides, const std::string& padding);
  std::shared_ptr<Layer<T>> clone() const override;

 protected:
  void compute(const T* const* xs, T* y, bool training) override;
  void gradient(const T* const* xs, const T* y, T* grad_y, T* const* grad_xs) override;

 private:
  PoolOp(const std::string& mode, const Shape& input, std::shared_ptr<Pool<T>> pool,
         std::vector<Index> pool_size, std::vector<Index> strides, std::string padding);

  std::shared_ptr<Pool<T>> pool_;
  std::string mode_;
  std::vector<Index> pool_size_, strides_;
  std::string padding_;
};

}  // namespace eigennet
