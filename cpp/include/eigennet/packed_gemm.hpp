// A weight matrix packed once for many small products X·W (a recurrent layer multiplies the
// same recurrent kernel by a few batch rows at every step). gemm() would repack W at every
// call, which costs about as much as the product when X has few rows; here W is packed once
// per batch (in the layout of the core's float kernel, sgemm.hpp, or else of Eigen's GEBP
// kernel) and each product packs only X.
//
// Packed under a bfloat16 or float16 product precision (product_precision.hpp), both operands
// are rounded in their packed form and multiplied by the float32 kernel: the products of a
// layer computing in bfloat16 or float16, at float32 speed.
#pragma once

#include "eigennet/memory.hpp"
#include "eigennet/product_precision.hpp"
#include "eigennet/tensor.hpp"

namespace eigennet {

template <class T>
class PackedMatrix {
 public:
  // Packs op(W) (K x N): W stored row-major as (K x N) with leading dimension ld, or, when
  // trans, as (N x K).
  void pack(const T* W, Index ld, Index K, Index N, bool trans);

  // C (M x N, ldc) (+)= A (M x K, lda) · op(W), on the calling thread. `buffer` holds at least
  // rhs_buffer_size(M) values, aligned to 64 bytes.
  void multiply(const T* A, Index lda, Index M, T* C, Index ldc, bool accumulate, T* buffer) const;

  Index rhs_buffer_size(Index M) const { return K_ * M; }
  Index depth() const { return K_; }
  Index cols() const { return N_; }

 private:
  Index K_ = 0, N_ = 0;
  bool kernel_ = false;  // packed for the core's float kernel (sgemm.hpp), else for Eigen's GEBP
  ProductPrecision rounding_ = ProductPrecision::Float32;  // what the operands are rounded to
  AlignedVector<T> packed_;
};

// G (n x m) += A^T B over rows added a block at a time (A: (k x n), B: (k x m), row-major),
// packed as they come so that the product runs while the rows are still in cache: a
// recurrent layer adds each step's rows right after computing them and multiplies every few
// steps, instead of streaming the whole sequence through memory again afterwards.
template <class T>
class GradientAccumulator {
 public:
  // Allocates for products up to max_depth rows (call outside hot loops, on the thread whose
  // product precision applies).
  void reserve(Index n, Index m, Index max_depth);
  // Starts a product over the next `depth` rows (at most max_depth).
  void begin(Index depth);
  // Adds `rows` rows of A (leading dimension lda) and of B (ldb).
  void add(const T* A, Index lda, const T* B, Index ldb, Index rows);
  // G (n x m, leading dimension ldg) += A^T B over the rows added since begin.
  void finish(T* G, Index ldg);

 private:
  Index n_ = 0, m_ = 0, depth_ = 0, filled_ = 0;
  bool kernel_ = false;                                    // as PackedMatrix
  ProductPrecision rounding_ = ProductPrecision::Float32;  // as PackedMatrix
  AlignedVector<T> packed_a_, packed_b_;
};

}  // namespace eigennet
