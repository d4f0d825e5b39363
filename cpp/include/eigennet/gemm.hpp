// Matrix products of the core, with the threading decided here rather than inside Eigen.
//
// Eigen's own OpenMP GEMM goes parallel from ~50 kFLOP; a two-thread barrier on a tiny
// product costs more than the product, and when another process holds the second core it
// stalls for a whole time slice (measured: small models 100x slower). So Eigen is built with
// EIGEN_DONT_PARALLELIZE, products below kGemmParallelFlops run on one thread, and larger
// ones split the output along its larger side, one slice per thread. Called from inside a
// parallel region, a product runs on the calling thread.
#pragma once

#include "eigennet/tensor.hpp"

namespace eigennet {

constexpr double kGemmParallelFlops = 4.0e6;

// C (M x N) = op(A) * op(B), or C += ... when accumulate. Row-major storage throughout:
// op(A) is A (M x K, leading dimension lda) or, when trans_a, the transpose of A stored as
// (K x M); likewise op(B) is B (K x N) or B stored as (N x K) when trans_b.
template <class T>
void gemm(bool trans_a, bool trans_b, Index M, Index N, Index K, const T* A, Index lda, const T* B,
          Index ldb, T* C, Index ldc, bool accumulate = false);

}  // namespace eigennet
