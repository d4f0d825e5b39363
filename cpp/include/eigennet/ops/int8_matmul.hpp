// Int8MatMulOp: the product of a quantized EinsumDense (or MultiHeadAttention projection),
// `x @ kernel` with x's rows quantized to int8 at run time and the kernel held as int8 whole
// numbers, de-scaled as Keras's _int8_call: int32(q(x) · kernel) / (kernel_scale * x_scale).
// The Python side arranges an einsum's axes so that the product is this one (see
// layers/einsum_quantization.py). Inputs: x (..., c1..cm), kernel (c1..cm, f1..fp) and
// kernel_scale (f1 * ... * fp values, any shape); output (..., f1..fp): the last m axes of x
// are contracted with the first m of the kernel.
// Backward, as Keras's custom gradient: dL/dx through the dequantized kernel; the kernel and
// its scale get none (they are not trainable).
#pragma once

#include "eigennet/layers/quantized.hpp"
#include "eigennet/ops/op.hpp"
#include "eigennet/workspace.hpp"

namespace eigennet {

template <class T>
class Int8MatMulOp : public Op<T> {
 public:
  // Throws std::invalid_argument unless the shapes are those described above.
  Int8MatMulOp(const Shape& x, const Shape& kernel, const Shape& kernel_scale, Index contracted);
  std::shared_ptr<Layer<T>> clone() const override { return std::make_shared<Int8MatMulOp>(*this); }

 protected:
  void compute(const T* const* xs, T* y, bool training) override;
  void gradient(const T* const* xs, const T* y, T* grad_y, T* const* grad_xs) override;

 private:
  // The kernel packed for the int8 product, packed again when its values (a weight the
  // user may assign any time) or the kernel choice changed since.
  const PackedInt8B& packed_kernel(const T* kernel);

  Index k_, n_;  // the product's inner and outer sizes
  AlignedVector<T> packed_from_;
  PackedInt8B packed_;
  Int8Products<T> products_;
  Workspace<T> dequantized_;
};

}  // namespace eigennet
