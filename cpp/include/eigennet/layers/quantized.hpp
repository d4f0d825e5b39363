// Keras's int8-quantized Dense and Embedding (layer.quantize("int8")), inference products in
// integers (int8_gemm.hpp). Weights, in Keras's saving order, hold whole numbers in [-127, 127]
// stored in the layer's float parameter block:
//   Int8Dense:     kernel (in, units) int8 values, bias (units), kernel_scale (units)
//   Int8Embedding: embeddings (input_dim, output_dim) int8 values, embeddings_scale (input_dim)
// A scale multiplies a float into the int8 range (127 / abs-max), so outputs divide by it.
#pragma once

#include <cstdint>

#include "eigennet/activations.hpp"
#include "eigennet/int8_gemm.hpp"
#include "eigennet/layer.hpp"
#include "eigennet/layers/embedding.hpp"
#include "eigennet/workspace.hpp"

namespace eigennet {

// Keras's abs_max_quantize of each row of x (rows, cols): scale = 127 / (max|x| + 1e-7),
// q = clip(round_half_even(x * scale), -127, 127). Returns the first row holding NaN or inf
// (its int8 values are meaningless), -1 when there is none: the pass that finds each row's
// maximum checks it too, so that predict needs no pass of its own over the input.
template <class T>
Index quantize_rows_int8(const T* x, Index rows, Index cols, int8_t* q, T* scale);

// A kernel (k, n) held as whole numbers in floats, packed for the int8 product; clamped to
// [-128, 127] so that a stray value cannot wrap.
template <class T>
PackedInt8B pack_whole_numbers(const T* kernel, Index k, Index n, Int8Kernel choice);

// The integer part of Keras's int8 layers (Dense, EinsumDense): x's rows quantized as
// quantize_rows_int8 does, times a packed kernel, in exact int32 sums. The buffers are kept
// between batches. `who` names the layer in the NonFiniteRows thrown for a row with NaN or inf.
template <class T>
struct Int8Products {
  void compute(const T* x, Index rows, const PackedInt8B& kernel, const char* who);
  // As compute, without throwing: returns the first row holding NaN or inf (nothing is
  // multiplied then), -1 when there is none. For threads, which must not throw.
  Index try_compute(const T* x, Index rows, const PackedInt8B& kernel);
  // Row i's float value: products[i, j] / (kernel_scale[j] * inputs_scale[i]), as Keras
  // de-scales.
  T value(Index i, Index j, Index n, const T* kernel_scale) const {
    return static_cast<T>(products[static_cast<size_t>(i * n + j)]) /
           (kernel_scale[j] * inputs_scale[static_cast<size_t>(i)]);
  }
  AlignedVector<int8_t> inputs_int8;
  AlignedVector<T> inputs_scale;
  AlignedVector<int32_t> products;
};

// y = act(int32(q(x) · kernel) / (kernel_scale * input_scale) + bias), as Keras's _int8_call.
// Backward, as Keras's custom gradient: dL/dx through the dequantized kernel (kernel /
// kernel_scale) and dL/dbias; the int8 kernel and its scale have no gradient.
template <class T>
class Int8Dense : public Layer<T> {
 public:
  Int8Dense(Index units, Activation activation, bool use_bias);
  std::shared_ptr<Layer<T>> clone() const override { return std::make_shared<Int8Dense>(*this); }
  void forward(ConstMatrixMap<T> x, MatrixMap<T> y, bool training) override;
  void backward(ConstMatrixMap<T> x, ConstMatrixMap<T> y, MatrixMap<T> grad_y, T* param_grad,
                MatrixMap<T>* grad_x) override;
  bool checks_input_finite() const override { return true; }

 protected:
  Shape do_build(const Shape& input_shape) override;

 private:
  const T* kernel_scale() const { return this->weight(use_bias_ ? 2 : 1); }

  Index units_, in_ = 0;
  Activation activation_;
  bool use_bias_;
  // The kernel packed for the int8 product, remade when the parameters changed since it was
  // packed (Python may assign them any time: Layer::params_version) or the kernel choice did.
  const PackedInt8B& packed_kernel();

  Workspace<T> preactivation_;
  PackedInt8B packed_;
  std::uint64_t packed_version_ = ~std::uint64_t(0);  // none yet: no version is this
  Int8Products<T> products_;
};

// Rows of the int8 table divided by their scale; nothing trainable (as Keras).
template <class T>
class Int8Embedding : public Embedding<T> {
 public:
  using Embedding<T>::Embedding;
  std::shared_ptr<Layer<T>> clone() const override {
    return std::make_shared<Int8Embedding>(*this);
  }
  void forward(ConstMatrixMap<T> x, MatrixMap<T> y, bool training) override;
  void backward(ConstMatrixMap<T> x, ConstMatrixMap<T> y, MatrixMap<T> grad_y, T* param_grad,
                MatrixMap<T>* grad_x) override;

 protected:
  Shape do_build(const Shape& input_shape) override;
};

}  // namespace eigennet
