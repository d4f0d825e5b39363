#include "eigennet/int8_gemm.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "eigennet/memory.hpp"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define EIGENNET_INT8_VNNI 1
#define EIGENNET_VNNI_TARGET __attribute__((target("avx512f,avx512bw,avx512vnni")))
#endif

namespace eigennet {

namespace {

// Work (multiply-adds) below which the product stays on one thread.
constexpr double kParallelMacs = 1 << 20;

void reference_gemm(Index m, Index n, Index k, const int8_t* a, const int8_t* b, int32_t* c) {
#pragma omp parallel for schedule(static) if (double(m) * n * k > kParallelMacs)
  for (Index i = 0; i < m; ++i) {
    int32_t* row = c + i * n;
    std::fill_n(row, n, 0);
    for (Index p = 0; p < k; ++p) {
      const int32_t av = a[i * k + p];
      const int8_t* brow = b + p * n;
      for (Index j = 0; j < n; ++j) row[j] += av * int32_t(brow[j]);
    }
  }
}

#ifdef EIGENNET_INT8_VNNI
// vpdpbusd multiplies unsigned by signed bytes, four at a time into each int32 lane. The
// signed activations become unsigned with +128; sum((a + 128) b) - 128 sum(b) undoes it
// exactly. B is packed as (k/4, n rounded up to 16, 4): one 64-byte load is 4 k-steps of 16
// columns; zero padding adds nothing.
struct PackedB {
  Index k4, n16;
  AlignedVector<int8_t> values;
  AlignedVector<int32_t> shift;  // 128 * column sums, padded to n16
};

PackedB pack_b(Index n, Index k, const int8_t* b) {
  PackedB p;
  p.k4 = (k + 3) / 4;
  p.n16 = (n + 15) / 16 * 16;
  p.values.assign(static_cast<size_t>(p.k4 * p.n16 * 4), 0);
  p.shift.assign(static_cast<size_t>(p.n16), 0);
  for (Index q = 0; q < k; ++q)
    for (Index j = 0; j < n; ++j) {
      p.values[static_cast<size_t>(((q / 4) * p.n16 + j) * 4 + q % 4)] = b[q * n + j];
      p.shift[static_cast<size_t>(j)] += 128 * int32_t(b[q * n + j]);
    }
  return p;
}

// R rows x V vectors of 16 columns starting at column j0.
template <int R, int V>
EIGENNET_VNNI_TARGET void vnni_block(const uint8_t* a, Index lda, const PackedB& p, Index n,
                                     Index j0, int32_t* c) {
  __m512i acc[R][V];
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < V; ++v) acc[r][v] = _mm512_setzero_si512();
  const int8_t* bp = p.values.data() + j0 * 4;
  for (Index q = 0; q < p.k4; ++q, bp += p.n16 * 4) {
    __m512i bv[V];
    for (int v = 0; v < V; ++v) bv[v] = _mm512_loadu_si512(bp + v * 64);
    for (int r = 0; r < R; ++r) {
      int32_t four;
      std::memcpy(&four, a + r * lda + q * 4, 4);
      const __m512i av = _mm512_set1_epi32(four);
      for (int v = 0; v < V; ++v) acc[r][v] = _mm512_dpbusd_epi32(acc[r][v], av, bv[v]);
    }
  }
  for (int v = 0; v < V; ++v) {
    const Index j = j0 + v * 16;
    const Index left = n - j;
    const __mmask16 mask = left >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << left) - 1);
    const __m512i shift = _mm512_loadu_si512(p.shift.data() + j);
    for (int r = 0; r < R; ++r)
      _mm512_mask_storeu_epi32(c + r * n + j, mask, _mm512_sub_epi32(acc[r][v], shift));
  }
}

template <int R>
void vnni_rows(const uint8_t* a, Index lda, const PackedB& p, Index n, int32_t* c) {
  Index j0 = 0;
  for (; j0 + 64 <= p.n16; j0 += 64) vnni_block<R, 4>(a, lda, p, n, j0, c);
  switch ((p.n16 - j0) / 16) {
    case 3:
      vnni_block<R, 3>(a, lda, p, n, j0, c);
      break;
    case 2:
      vnni_block<R, 2>(a, lda, p, n, j0, c);
      break;
    case 1:
      vnni_block<R, 1>(a, lda, p, n, j0, c);
      break;
    default:
      break;
  }
}

void vnni_gemm(Index m, Index n, Index k, const int8_t* a, const int8_t* b, int32_t* c) {
  const PackedB p = pack_b(n, k, b);
  const Index lda = p.k4 * 4;
  AlignedVector<uint8_t> shifted(static_cast<size_t>(m * lda), uint8_t(128));
  for (Index i = 0; i < m; ++i)
    for (Index q = 0; q < k; ++q)
      shifted[static_cast<size_t>(i * lda + q)] = uint8_t(int32_t(a[i * k + q]) + 128);
  const Index blocks = (m + 3) / 4;
#pragma omp parallel for schedule(static) if (double(m) * n * k > kParallelMacs)
  for (Index blk = 0; blk < blocks; ++blk) {
    const Index i = blk * 4;
    const uint8_t* ai = shifted.data() + i * lda;
    int32_t* ci = c + i * n;
    switch (std::min<Index>(4, m - i)) {
      case 4:
        vnni_rows<4>(ai, lda, p, n, ci);
        break;
      case 3:
        vnni_rows<3>(ai, lda, p, n, ci);
        break;
      case 2:
        vnni_rows<2>(ai, lda, p, n, ci);
        break;
      default:
        vnni_rows<1>(ai, lda, p, n, ci);
        break;
    }
  }
}
#endif

}  // namespace

bool int8_vnni_supported() {
#ifdef EIGENNET_INT8_VNNI
  // libgcc's check includes the OS saving the AVX-512 registers (XCR0).
  static const bool supported = __builtin_cpu_supports("avx512f") &&
                                __builtin_cpu_supports("avx512bw") &&
                                __builtin_cpu_supports("avx512vnni");
  return supported;
#else
  return false;
#endif
}

Int8Kernel int8_kernel_in_use() {
  const char* env = std::getenv("EIGENNET_INT8_KERNEL");
  const std::string want = env ? env : "";
  if (want == "reference") return Int8Kernel::Reference;
  if (want == "vnni") {
    if (!int8_vnni_supported())
      throw std::invalid_argument(
          "EIGENNET_INT8_KERNEL=vnni: this CPU has no AVX512-VNNI; use reference or unset it");
    return Int8Kernel::Vnni;
  }
  if (!want.empty() && want != "auto")
    throw std::invalid_argument("EIGENNET_INT8_KERNEL=" + want +
                                ": use reference, vnni or auto (or unset it)");
  return int8_vnni_supported() ? Int8Kernel::Vnni : Int8Kernel::Reference;
}

std::string int8_kernel_name(Int8Kernel kernel) {
  return kernel == Int8Kernel::Vnni ? "vnni" : "reference";
}

void int8_gemm(Index m, Index n, Index k, const int8_t* a, const int8_t* b, int32_t* c,
               Int8Kernel kernel) {
  if (m < 0 || n < 0 || k < 0) throw std::invalid_argument("int8_gemm: negative size");
  if (m == 0 || n == 0) return;
#ifdef EIGENNET_INT8_VNNI
  if (kernel == Int8Kernel::Vnni) {
    if (!int8_vnni_supported())
      throw std::invalid_argument("int8_gemm: this CPU has no AVX512-VNNI");
    vnni_gemm(m, n, k, a, b, c);
    return;
  }
#else
  if (kernel == Int8Kernel::Vnni)
    throw std::invalid_argument("int8_gemm: AVX512-VNNI is not built for this CPU");
#endif
  reference_gemm(m, n, k, a, b, c);
}

}  // namespace eigennet
