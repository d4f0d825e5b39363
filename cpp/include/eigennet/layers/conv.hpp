// Conv1D / Conv2D / Conv3D, channels last: y = act(correlate(x, kernel) + bias). Kernel
// (k..., in, out) as Keras, which read row-major is the (taps * in, out) matrix of an im2col
// product: each output pixel's receptive field is copied to one row of a column matrix ("im2col"),
// and a product with the kernel gives all its filters. Backward: dK = colsᵀ·dZ, dcols = dZ·Kᵀ
// scattered back ("col2im"). The batch runs in chunks of samples whose column matrix fits the
// L2 cache (one GEMM per chunk of many pixels, never per pixel or per sample unless a sample
// alone fills the cache); the threads take whole groups of chunks, cut the same way whatever
// the thread count. A 1-D or 2-D convolution is a 3-D one over a single row or plane (see
// window.hpp).
//
// int8 (quantize("int8"), an eigennet extension: Keras 3.15 quantizes no convolution): the
// kernel holds int8 whole numbers with one scale per filter (kernel_scale, after the bias), as
// Dense's per output channel. Each row of the column matrix (one output pixel's receptive
// field) is quantized at run time as Dense quantizes a row of inputs, and the product runs in
// integers (int8_gemm.hpp): y = act(int32(q(cols) · kernel) / (kernel_scale * row_scale) +
// bias). Backward goes through the dequantized kernel (kernel / kernel_scale), as Keras's
// custom gradient of its int8 layers; the kernel and scale get no gradient.
#pragma once

#include <string>
#include <vector>

#include "eigennet/activations.hpp"
#include "eigennet/layer.hpp"
#include "eigennet/layers/quantized.hpp"
#include "eigennet/layers/window.hpp"
#include "eigennet/workspace.hpp"

namespace eigennet {

template <class T>
class Conv : public Layer<T> {
 public:
  // rank 1 (samples (steps, channels)), 2 ((rows, cols, channels)) or 3 ((depth, rows, cols,
  // channels)); kernel_size, strides
  // and dilation_rate hold one entry per spatial axis. Causal padding is 1-D only.
  Conv(int rank, Index filters, std::vector<Index> kernel_size, std::vector<Index> strides,
       Padding padding, std::vector<Index> dilation_rate, Activation activation, bool use_bias,
       bool int8 = false);
  std::shared_ptr<Layer<T>> clone() const override { return std::make_shared<Conv>(*this); }
  void forward(ConstMatrixMap<T> x, MatrixMap<T> y, bool training) override;
  void backward(ConstMatrixMap<T> x, ConstMatrixMap<T> y, MatrixMap<T> grad_y, T* param_grad,
                MatrixMap<T>* grad_x) override;

 protected:
  Shape do_build(const Shape& input_shape) override;

 private:
  std::string name() const;  // "Conv2D", for error messages
  // Samples per chunk: a chunk's column and output matrices stay under kChunkElements.
  Index chunk_samples() const;
  // Groups of chunks for a batch of n samples, each accumulating its own kernel gradient;
  // independent of the thread count.
  Index group_count(Index n) const;
  // Threads that take whole groups for a batch of n samples (1: the products use them).
  int slot_count(Index n) const;
  // Taps-major columns of single-channel inputs (the pixel-major ones are im2col.hpp's).
  void im2col_taps(const T* x, Index count, T* cols) const;
  void col2im_taps(const T* cols, Index count, T* dx) const;
  // int8: forward, the packed kernel (remade when the parameters changed), and the
  // dequantized kernel backward multiplies with.
  void forward_int8(ConstMatrixMap<T> x, MatrixMap<T> y);
  Index quantize_taps(T* cols, Index rows, AlignedVector<T>& scale) const;
  const PackedInt8B& packed_kernel();
  const T* dequantized_kernel();

  int rank_;
  Index filters_;
  std::vector<Index> kernel_size_, strides_, dilation_;
  Padding padding_;
  Activation activation_;
  bool use_bias_;
  bool int8_;
  Window window_;
  Index in_size_ = 0, pixels_ = 0, patch_ = 0;  // per sample: inputs, output pixels, taps * in
  bool direct_ = false;                 // 1x1 kernel, stride 1: the input is its own column matrix
  bool taps_major_ = false;             // one input channel: columns stored (taps, pixels)
  std::vector<Index> tap_lo_, tap_hi_;  // per kernel column: output columns inside the data
  Workspace<T> cols_;  // one chunk's column matrix per thread (also dcols in backward)
  Workspace<T> preactivation_, group_grads_;
  PackedInt8B packed_;
  std::uint64_t packed_version_ = ~std::uint64_t(0);  // none yet
  std::vector<Int8Products<T>> products_;             // per thread taking chunks
  Workspace<T> dequantized_;
};

}  // namespace eigennet
