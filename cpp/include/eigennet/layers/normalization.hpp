// Normalization over the last axis (channels): batch normalization (statistics per channel
// over the batch and every other axis) and layer normalization (statistics per position over
// its channels). A batch is seen as a (positions, channels) matrix: a sample of shape
// (h, w, c) contributes h * w rows of c channels.
#pragma once

#include "eigennet/layer.hpp"
#include "eigennet/workspace.hpp"

namespace eigennet {

// Weights in Keras order: gamma (scale), beta (center), moving_mean, moving_variance; the
// moving statistics are not trainable. A training forward of a trainable layer normalizes
// with the batch's mean and biased variance and moves the moving statistics by
// `moving * momentum + batch * (1 - momentum)`; otherwise (inference, or a frozen layer as in
// Keras 3) it uses the moving statistics and its backward is the per-channel affine map.
template <class T>
class BatchNormalization : public Layer<T> {
 public:
  BatchNormalization(double momentum, double epsilon, bool center, bool scale);
  std::shared_ptr<Layer<T>> clone() const override {
    return std::make_shared<BatchNormalization>(*this);
  }
  void forward(ConstMatrixMap<T> x, MatrixMap<T> y, bool training) override;
  void backward(ConstMatrixMap<T> x, ConstMatrixMap<T> y, MatrixMap<T> grad_y, T* param_grad,
                MatrixMap<T>* grad_x) override;

 protected:
  Shape do_build(const Shape& input_shape) override;

 private:
  double momentum_, epsilon_;
  bool center_, scale_;
  Index channels_ = 0;
  int gamma_ = -1, beta_ = -1, moving_mean_ = -1, moving_variance_ = -1;  // weight indices
  bool batch_statistics_ = false;  // whether the last forward used the batch's statistics
  // Per channel, from the last forward: the mean used and 1 / sqrt(variance + epsilon).
  AlignedVector<T> mean_, inv_std_;
  // Per-channel coefficients of the current pass: forward scale and shift, or the three
  // factors of dx in backward.
  AlignedVector<T> scale_shift_;
  Workspace<double> partial_;   // per chunk of rows: partial column sums or moments
  AlignedVector<double> sums_;  // the combined column sums or moments (2 per channel)
};

// Weights: gamma (scale or rms_scaling), beta (center, not with rms_scaling). Each position
// is normalized by the mean and biased variance of its channels; with Keras's deprecated
// rms_scaling the output is x / sqrt(variance + epsilon) * gamma (not centered).
template <class T>
class LayerNormalization : public Layer<T> {
 public:
  LayerNormalization(double epsilon, bool center, bool scale, bool rms_scaling);
  std::shared_ptr<Layer<T>> clone() const override {
    return std::make_shared<LayerNormalization>(*this);
  }
  void forward(ConstMatrixMap<T> x, MatrixMap<T> y, bool training) override;
  void backward(ConstMatrixMap<T> x, ConstMatrixMap<T> y, MatrixMap<T> grad_y, T* param_grad,
                MatrixMap<T>* grad_x) override;

 protected:
  Shape do_build(const Shape& input_shape) override;

 private:
  double epsilon_;
  bool center_, scale_, rms_scaling_;
  Index channels_ = 0;
  int gamma_ = -1, beta_ = -1;
  Workspace<T> row_stats_;  // per position of the last forward: mean, 1 / sqrt(var + eps)
  Workspace<double> partial_;
  AlignedVector<double> sums_;
};

}  // namespace eigennet
