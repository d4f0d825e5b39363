#include "eigennet/gemm.hpp"

#include <omp.h>

#include <algorithm>
#include <type_traits>

#include "eigennet/bf16_gemm.hpp"
#include "eigennet/memory.hpp"
#include "eigennet/product_precision.hpp"
#include "eigennet/sgemm.hpp"
#include "eigennet/threading.hpp"

namespace eigennet {
namespace {

template <class T>
using Strided = Eigen::Map<const Matrix<T>, 0, Eigen::OuterStride<>>;
template <class T>
using StridedOut = Eigen::Map<Matrix<T>, 0, Eigen::OuterStride<>>;

// One single-threaded product on (sub)matrices: the core's kernel, or Eigen's; then the
// epilogue on C's rows [r0, r0 + M) x columns [c0, c0 + N), in the kernel's registers when it
// can.
template <class T>
void product(bool trans_a, bool trans_b, Index M, Index N, Index K, const T* A, Index lda,
             const T* B, Index ldb, T* C, Index ldc, bool accumulate, bool kernel,
             const GemmEpilogue* epilogue, Index r0, Index c0) {
  if constexpr (std::is_same_v<T, float>) {
    if (kernel) {
      SgemmTileEpilogue tile;
      if (epilogue && epilogue->in_registers()) {
        const float* bias = epilogue->register_bias();
        const float* residual = epilogue->register_residual();
        tile = {bias ? bias + c0 : nullptr, residual ? residual + r0 * ldc + c0 : nullptr,
                epilogue->register_relu()};
      }
      sgemm_kernel(trans_a, trans_b, M, N, K, A, lda, B, ldb, C, ldc, accumulate, tile);
      if (epilogue && !epilogue->in_registers()) (*epilogue)(r0, M, c0, N);
      return;
    }
  }
  StridedOut<T> c(C, M, N, Eigen::OuterStride<>(ldc));
  const Strided<T> a(A, trans_a ? K : M, trans_a ? M : K, Eigen::OuterStride<>(lda));
  const Strided<T> b(B, trans_b ? N : K, trans_b ? K : N, Eigen::OuterStride<>(ldb));
  auto run = [&](const auto& lhs, const auto& rhs) {
    if (accumulate)
      c.noalias() += lhs * rhs;
    else
      c.noalias() = lhs * rhs;
  };
  if (trans_a && trans_b)
    run(a.transpose(), b.transpose());
  else if (trans_a)
    run(a.transpose(), b);
  else if (trans_b)
    run(a, b.transpose());
  else
    run(a, b);
  if (epilogue) (*epilogue)(r0, M, c0, N);
}

}  // namespace

template <class T>
void gemm(bool trans_a, bool trans_b, Index M, Index N, Index K, const T* A, Index lda, const T* B,
          Index ldb, T* C, Index ldc, bool accumulate, const GemmEpilogue* epilogue) {
  if constexpr (std::is_same_v<T, float>) {
    const ProductPrecision precision = product_precision();
    if (precision == ProductPrecision::BFloat16)
      return bf16_gemm(trans_a, trans_b, M, N, K, A, lda, B, ldb, C, ldc, accumulate, epilogue,
                       bf16_kernel_in_use());
    if (precision == ProductPrecision::Float16)
      return rounded_gemm(precision, trans_a, trans_b, M, N, K, A, lda, B, ldb, C, ldc, accumulate,
                          epilogue);
  }
  const int threads = get_num_threads();
  // Decided once per product, not per thread slice, so that every element is summed the same
  // way.
  const bool kernel = sgemm_kernel_suits_for<T>(M, N, K);
  // Inside a parallel region (a layer spreading chunks or a recurrent layer's time loop over
  // the threads) the caller owns the threads: a product runs on its thread.
  if (threads < 2 || omp_in_parallel() ||
      2.0 * double(M) * double(N) * double(K) < kGemmParallelFlops) {
    product(trans_a, trans_b, M, N, K, A, lda, B, ldb, C, ldc, accumulate, kernel, epilogue, 0, 0);
    return;
  }
  // Split the larger output side; each thread packs the whole other operand, so that operand
  // should be the smaller one. Slices keep SIMD panels whole: Eigen sums a column in a
  // different order when it falls in a narrower panel than its 3-packet one (48 floats with
  // AVX-512), so column slices are multiples of 48 and results do not depend on the threads.
  // The core's kernel sums alike in any slice; its slices follow tile edges (no padded lanes).
  const bool split_cols = N >= M;
  const Index extent = split_cols ? N : M;
  const Index unit =
      kernel ? (split_cols ? kSgemmTileCols : kSgemmTileRows) : (split_cols ? 48 : 16);
  const Index slice = std::max(unit, ((extent + threads - 1) / threads + unit - 1) / unit * unit);
  const Index pieces = (extent + slice - 1) / slice;
#pragma omp parallel for schedule(static) \
    num_threads(static_cast<int>(std::min<Index>(threads, pieces)))
  for (Index p = 0; p < pieces; ++p) {
    const Index first = p * slice, count = std::min(slice, extent - first);
    if (split_cols) {
      // Columns [first, first + count) of op(B) and C.
      const T* b = trans_b ? B + first * ldb : B + first;
      product(trans_a, trans_b, M, count, K, A, lda, b, ldb, C + first, ldc, accumulate, kernel,
              epilogue, 0, first);
    } else {
      const T* a = trans_a ? A + first : A + first * lda;
      product(trans_a, trans_b, count, N, K, a, lda, B, ldb, C + first * ldc, ldc, accumulate,
              kernel, epilogue, first, 0);
    }
  }
}

namespace {

// Rounds op(X) into a contiguous copy of the same layout (rows x cols, ld).
void round_copy(ProductPrecision precision, const float* X, Index ld, Index rows, Index cols,
                AlignedVector<float>& out) {
  out.resize(static_cast<size_t>(rows * cols));
  float* dst = out.data();
#pragma omp parallel for schedule(static) if (parallel_for_worth(rows * cols) && !omp_in_parallel())
  for (Index r = 0; r < rows; ++r) {
    std::copy(X + r * ld, X + r * ld + cols, dst + r * cols);
    round_to_precision(precision, dst + r * cols, cols);
  }
}

}  // namespace

void rounded_gemm(ProductPrecision precision, bool trans_a, bool trans_b, Index M, Index N, Index K,
                  const float* A, Index lda, const float* B, Index ldb, float* C, Index ldc,
                  bool accumulate, const GemmEpilogue* epilogue) {
  thread_local AlignedVector<float> a, b;
  round_copy(precision, A, lda, trans_a ? K : M, trans_a ? M : K, a);
  round_copy(precision, B, ldb, trans_b ? N : K, trans_b ? K : N, b);
  const ProductPrecisionScope float32(ProductPrecision::Float32);
  gemm<float>(trans_a, trans_b, M, N, K, a.data(), trans_a ? M : K, b.data(), trans_b ? K : N, C,
              ldc, accumulate, epilogue);
}

template void gemm<float>(bool, bool, Index, Index, Index, const float*, Index, const float*, Index,
                          float*, Index, bool, const GemmEpilogue*);
template void gemm<double>(bool, bool, Index, Index, Index, const double*, Index, const double*,
                           Index, double*, Index, bool, const GemmEpilogue*);

}  // namespace eigennet
