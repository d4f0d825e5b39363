// Keras's int8-quantized Dense and Embedding (layer.quantize("int8")), inference products in
// integers (int8_gemm.hpp). Weights, in Keras's saving order, hold whole numbers in [-127, 127]
// stored in the layer's float parameter block:
//   Int8Dense:     kernel (in, units) int8 values, bias (units), kernel_scale (units)
//   Int8Embedding: embeddings (input_dim, output_dim) int8 values, embeddings_scale (input_dim)
// A scale multiplies a float into the int8 range (127 / abs-max), so outputs divide by it.
#pragma once

#include <omp.h>

#include <algorithm>
#include <cstdint>

#include "eigennet/activations.hpp"
#include "eigennet/int8_gemm.hpp"
#include "eigennet/layer.hpp"
#include "eigennet/layers/embedding.hpp"
#include "eigennet/threading.hpp"
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
  // As compute, and then finish(first, last) on the rows [first, last) whose products are
  // ready. Each thread takes its own rows through quantization, product and finish in chunks
  // that stay in its cache, with no barrier between the steps (one parallel region instead of
  // three). Rows a thread finished before another found NaN or inf keep their outputs.
  template <class Finish>
  void compute_rows(const T* x, Index rows, const PackedInt8B& kernel, const char* who,
                    Finish&& finish);
  // Row i's float value: products[i, j] / (kernel_scale[j] * inputs_scale[i]), as Keras
  // de-scales.
  T value(Index i, Index j, Index n, const T* kernel_scale) const {
    return static_cast<T>(products[static_cast<size_t>(i * n + j)]) /
           (kernel_scale[j] * inputs_scale[static_cast<size_t>(i)]);
  }
  AlignedVector<int8_t> inputs_int8;
  AlignedVector<T> inputs_scale;
  AlignedVector<int32_t> products;

 private:
  void resize(Index rows, const PackedInt8B& kernel);
  [[noreturn]] static void throw_non_finite(const char* who, Index row);
};

template <class T>
template <class Finish>
void Int8Products<T>::compute_rows(const T* x, Index rows, const PackedInt8B& kernel,
                                   const char* who, Finish&& finish) {
  constexpr Index kChunk = 96;  // rows quantized, multiplied and finished together (L2)
  resize(rows, kernel);
  const Index k = kernel.k, n = kernel.n;
  const auto chunks = [&](Index first, Index last) {
    for (Index c0 = first; c0 < last; c0 += kChunk) {
      const Index c1 = std::min(last, c0 + kChunk);
      const Index bad = quantize_rows_int8<T>(x + c0 * k, c1 - c0, k, inputs_int8.data() + c0 * k,
                                              inputs_scale.data() + c0);
      if (bad >= 0) return c0 + bad;
      int8_gemm(c1 - c0, inputs_int8.data() + c0 * k, kernel, products.data() + c0 * n);
      finish(c0, c1);
    }
    return rows;
  };
  const int threads = get_num_threads();
  Index first_bad = rows;
  if (threads < 2 || omp_in_parallel() || double(rows) * k * n <= double(1 << 20)) {
    first_bad = chunks(0, rows);
  } else {
    // Equal shares of whole 12-row tiles of the product (whole chunks would leave one
    // thread up to a chunk more: 544 against 480 rows of a 1024-row batch).
    constexpr Index kTile = 12;
    const Index tiles = (rows + kTile - 1) / kTile;
#pragma omp parallel num_threads(threads) reduction(min : first_bad)
    {
      const Index t = omp_get_thread_num(), nt = omp_get_num_threads();
      const Index first = std::min(rows, tiles * t / nt * kTile);
      const Index last = std::min(rows, tiles * (t + 1) / nt * kTile);
      first_bad = first < last ? chunks(first, last) : rows;
    }
  }
  if (first_bad < rows) throw_non_finite(who, first_bad);
}

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
