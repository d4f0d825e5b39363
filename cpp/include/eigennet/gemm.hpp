// Matrix products of the core, with the threading decided here rather than inside Eigen.
//
// Eigen's own OpenMP GEMM goes parallel from ~50 kFLOP; a two-thread barrier on a tiny
// product costs more than the product, and when another process holds the second core it
// stalls for a whole time slice (measured: small models 100x slower). So Eigen is built with
// EIGEN_DONT_PARALLELIZE, products below kGemmParallelFlops run on one thread, and larger
// ones split the output along its larger side, one slice per thread. Called from inside a
// parallel region, a product runs on the calling thread.
#pragma once

#include "eigennet/product_precision.hpp"
#include "eigennet/tensor.hpp"

namespace eigennet {

constexpr double kGemmParallelFlops = 4.0e6;

// Work on a finished block of C (rows [r0, r0 + rows) x columns [c0, c0 + cols)), run by the
// thread that computed the block while it is still in that core's cache. A non-owning
// reference to a callable that outlives it (std::function would allocate per product).
class GemmEpilogue {
 public:
  template <class Fn>
  explicit GemmEpilogue(const Fn& fn)
      : fn_(&fn), call_([](const void* f, Index r0, Index rows, Index c0, Index cols) {
          (*static_cast<const Fn*>(f))(r0, rows, c0, cols);
        }) {}
  template <class Fn>
  explicit GemmEpilogue(const Fn&&) = delete;  // a temporary would dangle

  void operator()(Index r0, Index rows, Index c0, Index cols) const {
    call_(fn_, r0, rows, c0, cols);
  }

  // Declares that the callable does no more than add a bias per column (bias[c] to column c
  // of C; none when null), then a residual of C's shape and leading dimension (none when
  // null), then, with relu, take max(value, 0): the fp32 kernel then does it to each tile in
  // registers before storing it, and the callable runs only on other paths. A pass over a
  // finished block cost 10-20 us per 128 x 256 product on two threads (the product itself
  // 86 us), about nothing on one.
  GemmEpilogue& in_registers(const float* bias, bool relu, const float* residual = nullptr) {
    register_bias_ = bias;
    register_residual_ = residual;
    register_relu_ = relu;
    in_registers_ = true;
    return *this;
  }
  bool in_registers() const { return in_registers_; }
  const float* register_bias() const { return register_bias_; }
  const float* register_residual() const { return register_residual_; }
  bool register_relu() const { return register_relu_; }

 private:
  const void* fn_;
  void (*call_)(const void*, Index, Index, Index, Index);
  const float* register_bias_ = nullptr;
  const float* register_residual_ = nullptr;
  bool register_relu_ = false, in_registers_ = false;
};

// C (M x N) = op(A) * op(B), or C += ... when accumulate. Row-major storage throughout:
// op(A) is A (M x K, leading dimension lda) or, when trans_a, the transpose of A stored as
// (K x M); likewise op(B) is B (K x N) or B stored as (N x K) when trans_b. An epilogue, when
// given, covers each element of C exactly once after its product.
template <class T>
void gemm(bool trans_a, bool trans_b, Index M, Index N, Index K, const T* A, Index lda, const T* B,
          Index ldb, T* C, Index ldc, bool accumulate = false,
          const GemmEpilogue* epilogue = nullptr);

// gemm<float> with both operands first rounded to `precision` (round_to_precision): float16
// products, and bfloat16 ones where the CPU has no bfloat16 instructions.
void rounded_gemm(ProductPrecision precision, bool trans_a, bool trans_b, Index M, Index N, Index K,
                  const float* A, Index lda, const float* B, Index ldb, float* C, Index ldc,
                  bool accumulate = false, const GemmEpilogue* epilogue = nullptr);

}  // namespace eigennet
