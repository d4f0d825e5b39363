#include "eigennet/int8_gemm.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define EIGENNET_INT8_VNNI 1
#define EIGENNET_VNNI_TARGET __attribute__((target("avx512f,avx512bw,avx512vnni")))
#endif

namespace eigennet {

namespace {

// Work (multiply-adds) below which the product stays on one thread.
constexpr double kParallelMacs = 1 << 20;

void reference_gemm(Index m, const int8_t* a, const PackedInt8B& p, int32_t* c) {
  const Index n = p.n, k = p.k;
  const int8_t* b = p.values.data();
#pragma omp parallel for schedule(static) if (double(m) * n * k > kParallelMacs)
  for (Index i = 0; i < m; ++i) {
    int32_t* row = c + i * n;
    std::fill_n(row, n, 0);
    for (Index q = 0; q < k; ++q) {
      const int32_t av = a[i * k + q];
      const int8_t* brow = b + q * n;
#pragma omp simd
      for (Index j = 0; j < n; ++j) row[j] += av * int32_t(brow[j]);
    }
  }
}

#ifdef EIGENNET_INT8_VNNI
// vpdpbusd multiplies unsigned by signed bytes, four at a time into each int32 lane. The
// signed activations become unsigned with +128; sum((a + 128) b) - 128 sum(b) undoes it
// exactly (no saturation: vpdpbusd wraps, and the true sums fit in int32). B is packed as
// (k/4, n rounded up to 16, 4): one 64-byte load is 4 k-steps of 16 columns; zero padding
// adds nothing.
Index k4_of(Index k) { return (k + 3) / 4; }
Index n16_of(Index n) { return (n + 15) / 16 * 16; }

// R rows x V vectors of 16 columns starting at column j0.
template <int R, int V>
EIGENNET_VNNI_TARGET void vnni_block(const uint8_t* a, Index lda, const PackedInt8B& p, Index j0,
                                     int32_t* c) {
  const Index k4 = k4_of(p.k), n16 = n16_of(p.n), n = p.n;
  __m512i acc[R][V];
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < V; ++v) acc[r][v] = _mm512_setzero_si512();
  const int8_t* bp = p.values.data() + j0 * 4;
  for (Index q = 0; q < k4; ++q, bp += n16 * 4) {
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
void vnni_rows(const uint8_t* a, Index lda, const PackedInt8B& p, int32_t* c) {
  const Index n16 = n16_of(p.n);
  Index j0 = 0;
  for (; j0 + 64 <= n16; j0 += 64) vnni_block<R, 4>(a, lda, p, j0, c);
  const Index vectors = (n16 - j0) / 16;
  if (vectors == 3) vnni_block<R, 3>(a, lda, p, j0, c);
  if (vectors == 2) vnni_block<R, 2>(a, lda, p, j0, c);
  if (vectors == 1) vnni_block<R, 1>(a, lda, p, j0, c);
}

void vnni_gemm(Index m, const int8_t* a, const PackedInt8B& p, int32_t* c) {
  const Index k = p.k, lda = k4_of(k) * 4;
  constexpr Index kRows = 4;
  const Index blocks = (m + kRows - 1) / kRows;
#pragma omp parallel if (double(m) * p.n * k > kParallelMacs)
  {
    // Each thread shifts its own rows to unsigned (padding: 128, i.e. a zero activation).
    AlignedVector<uint8_t> shifted(static_cast<size_t>(kRows * lda), uint8_t(128));
#pragma omp for schedule(static)
    for (Index blk = 0; blk < blocks; ++blk) {
      const Index i = blk * kRows, rows = std::min<Index>(kRows, m - i);
      for (Index r = 0; r < rows; ++r) {
        const int8_t* src = a + (i + r) * k;
        uint8_t* dst = shifted.data() + r * lda;
#pragma omp simd
        for (Index q = 0; q < k; ++q) dst[q] = uint8_t(src[q] ^ int8_t(-128));  // +128
      }
      int32_t* ci = c + i * p.n;
      if (rows == 4) vnni_rows<4>(shifted.data(), lda, p, ci);
      if (rows == 3) vnni_rows<3>(shifted.data(), lda, p, ci);
      if (rows == 2) vnni_rows<2>(shifted.data(), lda, p, ci);
      if (rows == 1) vnni_rows<1>(shifted.data(), lda, p, ci);
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

PackedInt8B pack_int8_b(Index k, Index n, const int8_t* b, Int8Kernel kernel) {
  if (k < 0 || n < 0) throw std::invalid_argument("int8_gemm: negative size");
  PackedInt8B p;
  p.k = k;
  p.n = n;
  p.kernel = kernel;
  if (kernel == Int8Kernel::Reference) {
    p.values.assign(b, b + k * n);
    return p;
  }
#ifdef EIGENNET_INT8_VNNI
  if (!int8_vnni_supported()) throw std::invalid_argument("int8_gemm: this CPU has no AVX512-VNNI");
  const Index n16 = n16_of(n);
  p.values.assign(static_cast<size_t>(k4_of(k) * n16 * 4), 0);
  p.shift.assign(static_cast<size_t>(n16), 0);
  for (Index q = 0; q < k; ++q) {
    int8_t* dst = p.values.data() + (q / 4) * n16 * 4 + q % 4;
    for (Index j = 0; j < n; ++j) {
      dst[j * 4] = b[q * n + j];
      p.shift[static_cast<size_t>(j)] += 128 * int32_t(b[q * n + j]);
    }
  }
  return p;
#else
  throw std::invalid_argument("int8_gemm: AVX512-VNNI is not built for this CPU");
#endif
}

void int8_gemm(Index m, const int8_t* a, const PackedInt8B& b, int32_t* c) {
  if (m < 0) throw std::invalid_argument("int8_gemm: negative size");
  if (m == 0 || b.n == 0) return;
#ifdef EIGENNET_INT8_VNNI
  if (b.kernel == Int8Kernel::Vnni) return vnni_gemm(m, a, b, c);
#endif
  reference_gemm(m, a, b, c);
}

}  // namespace eigennet
