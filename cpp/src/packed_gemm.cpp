#include "eigennet/packed_gemm.hpp"

#include <algorithm>
#include <type_traits>

#include "eigennet/product_precision.hpp"
#include "eigennet/sgemm.hpp"

namespace eigennet {
namespace {

using Eigen::ColMajor;
using Eigen::RowMajor;
using Eigen::Unaligned;
using namespace Eigen::internal;

// Row-major C = A · op(W) is computed as Eigen's column-major C^T = op(W)^T · A^T: op(W)^T is
// the "lhs" GEBP packs once, A^T the "rhs" packed per product.
template <class T>
using Traits = gebp_traits<T, T>;
template <class T, int Order>
using Mapper = const_blas_data_mapper<T, Index, Order>;
template <class T>
using ResMapper = blas_data_mapper<T, Index, ColMajor, Unaligned, 1>;

// The precision products of T round their operands to (only float ones are rounded).
template <class T>
ProductPrecision rounding() {
  return std::is_same_v<T, float> ? product_precision() : ProductPrecision::Float32;
}

template <class T>
void round_packed(ProductPrecision precision, T* values, Index n) {
  if constexpr (std::is_same_v<T, float>) round_to_precision(precision, values, n);
}

}  // namespace

template <class T>
void PackedMatrix<T>::pack(const T* W, Index ld, Index K, Index N, bool trans) {
  K_ = K;
  N_ = N;
  kernel_ = sgemm_kernel_suits_for<T>(1, N, K);  // as gemm(): the core's kernel where it suits
  rounding_ = rounding<T>();
  check_allocation(double(K) * double(N + kSgemmTileCols), sizeof(T), "a packed weight matrix");
#if defined(__AVX512F__)
  if constexpr (std::is_same_v<T, float>) {
    if (kernel_) {
      packed_.resize(static_cast<size_t>(sgemm_packed_b_size(N, K)));
      sgemm_pack_b(trans, W, ld, K, N, packed_.data(), K, 0);
      round_packed(rounding_, packed_.data(), Index(packed_.size()));
      return;
    }
  }
#endif
  packed_.resize(static_cast<size_t>(K * N));
  if (trans) {
    // op(W)^T = W itself, stored row-major (N x K)
    gemm_pack_lhs<T, Index, Mapper<T, RowMajor>, Traits<T>::mr, Traits<T>::LhsProgress,
                  typename Traits<T>::LhsPacket4Packing, RowMajor>
        pack_lhs;
    pack_lhs(packed_.data(), Mapper<T, RowMajor>(W, ld), K, N);
  } else {
    // op(W)^T (N x K) is W (K x N, row-major) read column-major
    gemm_pack_lhs<T, Index, Mapper<T, ColMajor>, Traits<T>::mr, Traits<T>::LhsProgress,
                  typename Traits<T>::LhsPacket4Packing, ColMajor>
        pack_lhs;
    pack_lhs(packed_.data(), Mapper<T, ColMajor>(W, ld), K, N);
  }
  round_packed(rounding_, packed_.data(), Index(packed_.size()));
}

template <class T>
void PackedMatrix<T>::multiply(const T* A, Index lda, Index M, T* C, Index ldc, bool accumulate,
                               T* buffer) const {
#if defined(__AVX512F__)
  if constexpr (std::is_same_v<T, float>) {
    if (kernel_ && M > 0) {  // the kernel overwrites C itself: no zero fill first
      if (sgemm_reads_a_in_place(false, lda) && rounding_ == ProductPrecision::Float32) {
        sgemm_packed_product(M, N_, K_, A, lda, packed_.data(), C, ldc, accumulate);
      } else {
        sgemm_pack_a(false, A, lda, M, K_, buffer, K_, 0);
        round_packed(rounding_, buffer, M * K_);
        sgemm_packed_product(M, N_, K_, buffer, 0, packed_.data(), C, ldc, accumulate);
      }
      return;
    }
  }
#endif
  if (!accumulate)
    for (Index i = 0; i < M; ++i) std::fill_n(C + i * ldc, N_, T(0));
  if (M == 0 || N_ == 0 || K_ == 0) return;
  gemm_pack_rhs<T, Index, Mapper<T, ColMajor>, Traits<T>::nr, ColMajor> pack_rhs;
  pack_rhs(buffer, Mapper<T, ColMajor>(A, lda), K_, M);
  round_packed(rounding_, buffer, K_ * M);
  gebp_kernel<T, T, Index, ResMapper<T>, Traits<T>::mr, Traits<T>::nr, false, false> gebp;
  gebp(ResMapper<T>(C, ldc), packed_.data(), buffer, N_, K_, M, T(1));
}

// G^T (m x n, column-major) += B^T (m x k) A (k x n): B^T is GEBP's lhs, A its rhs; each block
// of rows is packed in panel mode at its depth offset.
template <class T>
void GradientAccumulator<T>::reserve(Index n, Index m, Index max_depth) {
  n_ = n;
  m_ = m;
  kernel_ = sgemm_kernel_suits_for<T>(n, m, max_depth);
  rounding_ = rounding<T>();
  const Index b_size = max_depth * (m + kSgemmTileCols);  // room for the kernel's padded panels
  check_allocation(double(max_depth) * double(n) + double(b_size), sizeof(T), "gradient blocks");
  if (packed_a_.size() < static_cast<size_t>(max_depth * n))
    packed_a_.resize(static_cast<size_t>(max_depth * n));
  if (packed_b_.size() < static_cast<size_t>(b_size)) packed_b_.resize(static_cast<size_t>(b_size));
}

template <class T>
void GradientAccumulator<T>::begin(Index depth) {
  depth_ = depth;
  filled_ = 0;
}

template <class T>
void GradientAccumulator<T>::add(const T* A, Index lda, const T* B, Index ldb, Index rows) {
#if defined(__AVX512F__)
  if constexpr (std::is_same_v<T, float>) {
    if (kernel_) {
      sgemm_pack_a(true, A, lda, n_, rows, packed_a_.data(), depth_, filled_);
      sgemm_pack_b(false, B, ldb, rows, m_, packed_b_.data(), depth_, filled_);
      filled_ += rows;
      return;
    }
  }
#endif
  gemm_pack_lhs<T, Index, Mapper<T, ColMajor>, Traits<T>::mr, Traits<T>::LhsProgress,
                typename Traits<T>::LhsPacket4Packing, ColMajor, false, true>
      pack_lhs;
  pack_lhs(packed_b_.data(), Mapper<T, ColMajor>(B, ldb), rows, m_, depth_, filled_);
  gemm_pack_rhs<T, Index, Mapper<T, RowMajor>, Traits<T>::nr, RowMajor, false, true> pack_rhs;
  pack_rhs(packed_a_.data(), Mapper<T, RowMajor>(A, lda), rows, n_, depth_, filled_);
  filled_ += rows;
}

template <class T>
void GradientAccumulator<T>::finish(T* G, Index ldg) {
  if (depth_ == 0) return;
  // The blocks as packed (zero padding stays zero).
  round_packed(rounding_, packed_a_.data(), Index(packed_a_.size()));
  round_packed(rounding_, packed_b_.data(), Index(packed_b_.size()));
#if defined(__AVX512F__)
  if constexpr (std::is_same_v<T, float>) {
    if (kernel_) {
      sgemm_packed_product(n_, m_, depth_, packed_a_.data(), 0, packed_b_.data(), G, ldg, true);
      depth_ = filled_ = 0;
      return;
    }
  }
#endif
  gebp_kernel<T, T, Index, ResMapper<T>, Traits<T>::mr, Traits<T>::nr, false, false> gebp;
  gebp(ResMapper<T>(G, ldg), packed_b_.data(), packed_a_.data(), m_, depth_, n_, T(1), depth_,
       depth_, 0, 0);
  depth_ = filled_ = 0;
}

template class PackedMatrix<float>;
template class PackedMatrix<double>;
template class GradientAccumulator<float>;
template class GradientAccumulator<double>;

}  // namespace eigennet
