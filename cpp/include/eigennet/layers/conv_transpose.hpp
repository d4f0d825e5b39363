// Conv1DTranspose / Conv2DTranspose / Conv3DTranspose, channels last: y = act(adjoint(x) + bias),
// where adjoint is the transpose of the convolution that maps outputs of this layer's shape back to
// inputs of its shape (the gradient of a Conv with respect to its input). Kernel (k..., filters,
// in) as Keras, which read row-major is that convolution's (taps * filters, in) im2col kernel.
//   forward:  cols = X·Kᵀ (one row of taps * filters per input pixel), col2im into y;
//   backward: cols = im2col(dY); dX = cols·K; dK = colsᵀ·X; db = column sums of dY.
// Output sizes and the placement of the output inside the "full" transposed convolution follow
// Keras 3 (its JAX rule, which its torch backend reproduces by cropping): along each axis with
// span = dilation * (kernel - 1) + 1, output_padding op (None: Keras's default),
//   valid: left = span - 1, right = span - 1 + op (op default max(span, stride) - span);
//   same:  pad = stride + span - 2 (op None) or span + span % 2 - 2 + op,
//          left = min(ceil(pad / 2), span - 1), right = pad - left;
// the output is the full result (length (in - 1) * stride + span) cropped by span - 1 - left
// before and span - 1 - right after (negative crops are zeros). The batch runs in chunks of
// samples whose column matrix fits the L2 cache, one GEMM per chunk; the threads take whole
// groups of chunks (or, for few chunks, the GEMMs use the threads); dK accumulates per group
// and the groups add in order, so results do not depend on the thread count.
#pragma once

#include <string>
#include <vector>

#include "eigennet/activations.hpp"
#include "eigennet/layer.hpp"
#include "eigennet/layers/window.hpp"
#include "eigennet/workspace.hpp"

namespace eigennet {

template <class T>
class ConvTranspose : public Layer<T> {
 public:
  // rank 1 (samples (steps, channels)), 2 ((rows, cols, channels)) or 3 ((depth, rows, cols,
  // channels)); kernel_size, strides,
  // dilation_rate and output_padding (empty: None, Keras's default) hold one entry per
  // spatial axis. padding is Valid or Same.
  ConvTranspose(int rank, Index filters, std::vector<Index> kernel_size, std::vector<Index> strides,
                Padding padding, std::vector<Index> output_padding,
                std::vector<Index> dilation_rate, Activation activation, bool use_bias);
  std::shared_ptr<Layer<T>> clone() const override {
    return std::make_shared<ConvTranspose>(*this);
  }
  void forward(ConstMatrixMap<T> x, MatrixMap<T> y, bool training) override;
  void backward(ConstMatrixMap<T> x, ConstMatrixMap<T> y, MatrixMap<T> grad_y, T* param_grad,
                MatrixMap<T>* grad_x) override;

 protected:
  Shape do_build(const Shape& input_shape) override;

 private:
  Index chunk_samples() const;
  // Groups of chunks for a batch of n samples, each accumulating its own kernel gradient
  // (independent of the thread count), and the threads that take whole groups (1: the
  // products use them).
  Index group_count(Index n) const;
  int slot_count(Index n) const;
  std::string name() const;  // "Conv2DTranspose", for error messages

  int rank_;
  Index filters_;
  std::vector<Index> kernel_size_, strides_, output_padding_, dilation_;
  Padding padding_;
  Activation activation_;
  bool use_bias_;
  // The convolution this layer is the adjoint of: its input is this layer's output (in =
  // output size, channels = filters), its output this layer's input (out = input size).
  Window window_;
  Index in_channels_ = 0, in_size_ = 0, out_size_ = 0, pixels_ = 0, patch_ = 0;
  Workspace<T> cols_, preactivation_, group_grads_;
};

}  // namespace eigennet
