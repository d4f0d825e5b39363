// A weight matrix packed once for many small products X·W (a recurrent layer multiplies the
// same recurrent kernel by a few batch rows at every step). gemm() would repack W at every
// call, which costs about as much as the product when X has few rows; here W is packed once
// per batch in the layout of Eigen's GEBP kernel and each product packs only X.
#pragma once

#include "eigennet/memory.hpp"
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
  AlignedVector<T> packed_;
};

}  // namespace eigennet
