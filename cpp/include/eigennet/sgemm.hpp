// A single-precision GEMM kernel for the shapes of dense layers, used by gemm() in place of
// Eigen's product where it is faster.
//
// Why: Eigen's AVX-512 GEBP kernel computes 48x4 tiles of the column-major result, which for
// a row-major C = A·B loads three vectors of the packed weights per four broadcasts: the
// weights stream from L2 at ~32 bytes a cycle and the kernel stalls on them (measured 55-70 %
// of the FMA peak on the W3/W4 layer shapes where MKL reaches ~85 %). This kernel computes
// 12x32 tiles of the row-major C: per step of K it loads two vectors of packed B and
// broadcasts 12 values of A for 24 FMAs, so a 12-row panel of A stays in L1 while B streams
// from L2 at a third of that rate. B is packed per block (KC x NC, 32-column panels); A is
// read in place (by rows, or when transposed 12 consecutive values per step of K) unless its
// rows are a multiple of 4 KB apart, then packed in 12-row panels; packing reads the source
// front to back.
//
// Every element of C is summed in the same order whatever the thread split of the output
// (K in equal blocks, each block in order and then added to C), so results do not depend on
// the threads; a split along tile edges (kSgemmTileRows, kSgemmTileCols) wastes no lanes.
#pragma once

#include <type_traits>

#include "eigennet/tensor.hpp"

namespace eigennet {

constexpr Index kSgemmTileRows = 12;  // rows of C per kernel tile
constexpr Index kSgemmTileCols = 32;  // columns of C per kernel tile

// True when this build has the kernel (AVX-512) and the product is wide and deep enough for
// it (never decided by M alone: see sgemm.cpp).
bool sgemm_kernel_suits(Index M, Index N, Index K);

// The same for a product of T: only float products have the kernel.
template <class T>
bool sgemm_kernel_suits_for(Index M, Index N, Index K) {
  if constexpr (std::is_same_v<T, float>)
    return sgemm_kernel_suits(M, N, K);
  else
    return false;
}

// What the kernel does to a finished tile in registers before storing it: add bias[j] to
// column j of C (none when null), then residual[i * ldc + j] (none when null), then
// max(value, 0) when relu.
struct SgemmTileEpilogue {
  const float* bias = nullptr;
  const float* residual = nullptr;
  bool relu = false;
};

// C (M x N, ldc) = op(A) · op(B), or C += ... when accumulate; storage as gemm() (gemm.hpp).
// Runs on the calling thread. Call only when sgemm_kernel_suits(M, N, K).
void sgemm_kernel(bool trans_a, bool trans_b, Index M, Index N, Index K, const float* A, Index lda,
                  const float* B, Index ldb, float* C, Index ldc, bool accumulate,
                  SgemmTileEpilogue epilogue = {});

#if defined(__AVX512F__)
// The pieces of sgemm_kernel, for products that reuse a packed operand (packed_gemm.hpp).
// Each packs a block of kc steps of K into panels `depth` steps deep, at steps
// [k_at, k_at + kc) of them, so that a block can also be packed as its rows arrive.
// op(A) block (mc x kc; A points at its first element): mc * depth floats.
void sgemm_pack_a(bool trans_a, const float* A, Index lda, Index mc, Index kc, float* out,
                  Index depth, Index k_at);
// op(B) block (kc x nc; B points at its first element): sgemm_packed_b_size(nc, depth)
// floats, 64-byte aligned.
void sgemm_pack_b(bool trans_b, const float* B, Index ldb, Index kc, Index nc, float* out,
                  Index depth, Index k_at);
Index sgemm_packed_b_size(Index nc, Index depth);
// True when the kernel reads op(A) where it is (sgemm_packed_product with lda) rather than
// packing it first: A not transposed, its rows apart by a stride that does not alias in L1.
bool sgemm_reads_a_in_place(bool trans_a, Index lda);
// C (mc x nc, ldc) = A · packed B over depth steps, or C += ... when accumulate. A is packed
// when lda is 0, else read in place (mc x depth, rows lda apart).
void sgemm_packed_product(Index mc, Index nc, Index depth, const float* a, Index lda,
                          const float* packed_b, float* C, Index ldc, bool accumulate);
#endif

}  // namespace eigennet
