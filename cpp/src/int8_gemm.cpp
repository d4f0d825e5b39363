#include "eigennet/int8_gemm.hpp"

#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "eigennet/amx.hpp"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define EIGENNET_INT8_VNNI 1
#define EIGENNET_VNNI_TARGET __attribute__((target("avx512f,avx512bw,avx512vnni")))
#define EIGENNET_AMX_INT8_TARGET __attribute__((target("amx-tile,amx-int8")))
#endif

namespace eigennet {

namespace {

// Work (multiply-adds) below which the product stays on one thread.
constexpr double kParallelMacs = 1 << 20;

// Runs rows(first, last) over blocks [0, blocks) of rows: split over the threads when the
// product is large, else (and inside a parallel region, where even a one-thread region costs
// microseconds per call: an int8 layer runs one product per block of its batch) on this one.
template <class Rows>
void over_blocks(Index blocks, double macs, Rows&& rows) {
  if (macs <= kParallelMacs || blocks < 2 || omp_in_parallel()) {
    rows(Index(0), blocks);
    return;
  }
#pragma omp parallel
  {
    const Index t = omp_get_thread_num(), nt = omp_get_num_threads();
    rows(blocks * t / nt, blocks * (t + 1) / nt);
  }
}

void reference_gemm(Index m, const int8_t* a, const PackedInt8B& p, int32_t* c) {
  const Index n = p.n, k = p.k;
  const int8_t* b = p.values.data();
#pragma omp parallel for schedule(static) if (double(m) * n * k > kParallelMacs && \
                                                  !omp_in_parallel())
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
// The packed b's padded sizes: AMX reads whole tiles (64 steps of K, 2 x 16 columns).
Index packed_k_of(Index k, Int8Kernel kernel) {
  return kernel == Int8Kernel::Amx ? (k + 63) / 64 * 64 : k4_of(k) * 4;
}
Index packed_n_of(Index n, Int8Kernel kernel) {
  return kernel == Int8Kernel::Amx ? (n + 31) / 32 * 32 : n16_of(n);
}

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
  over_blocks(blocks, double(m) * p.n * k, [&](Index first, Index last) {
    // Each thread shifts its own rows to unsigned (padding: 128, i.e. a zero activation).
    thread_local AlignedVector<uint8_t> shifted;
    shifted.assign(static_cast<size_t>(kRows * lda), uint8_t(128));
    for (Index blk = first; blk < last; ++blk) {
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
  });
}

// tdpbusd: the same unsigned-by-signed products as vpdpbusd, on 16 x 64-byte tiles: each
// 32-row block of a (shifted to unsigned, padded with 128: zero activations) times 2 x 16
// columns of b per step of 64 in K, into 2 x 2 tiles of int32 sums (amx.hpp's configuration).
constexpr Index kAmxRows = 32;

EIGENNET_AMX_INT8_TARGET void amx_block(const uint8_t* a, Index lda, const PackedInt8B& p, Index j0,
                                        int32_t* out) {
  const Index kp = packed_k_of(p.k, Int8Kernel::Amx), np = packed_n_of(p.n, Int8Kernel::Amx);
  const Index b_stride = np * 4;
  const int8_t* b = p.values.data() + j0 * 4;
  _tile_zero(0);
  _tile_zero(1);
  _tile_zero(2);
  _tile_zero(3);
  for (Index k = 0; k < kp; k += 64) {
    _tile_loadd(4, a + k, lda);
    _tile_loadd(5, a + 16 * lda + k, lda);
    _tile_loadd(6, b + (k / 4) * b_stride, b_stride);
    _tile_loadd(7, b + (k / 4) * b_stride + 64, b_stride);
    _tile_dpbusd(0, 4, 6);
    _tile_dpbusd(1, 4, 7);
    _tile_dpbusd(2, 5, 6);
    _tile_dpbusd(3, 5, 7);
  }
  constexpr Index row_bytes = kAmxRows * Index(sizeof(int32_t));
  _tile_stored(0, out, row_bytes);
  _tile_stored(1, out + 16, row_bytes);
  _tile_stored(2, out + 16 * kAmxRows, row_bytes);
  _tile_stored(3, out + 16 * kAmxRows + 16, row_bytes);
}

void amx_gemm(Index m, const int8_t* a, const PackedInt8B& p, int32_t* c) {
  const Index k = p.k, n = p.n, lda = packed_k_of(k, Int8Kernel::Amx);
  const Index np = packed_n_of(n, Int8Kernel::Amx);
  const Index blocks = (m + kAmxRows - 1) / kAmxRows;
  over_blocks(blocks, double(m) * n * k, [&](Index first, Index last) {
    thread_local AlignedVector<uint8_t> shifted;
    shifted.resize(static_cast<size_t>(kAmxRows * lda));
    alignas(64) int32_t sums[kAmxRows * kAmxRows];
    amx_configure_tiles();
    for (Index blk = first; blk < last; ++blk) {
      const Index i = blk * kAmxRows, rows = std::min<Index>(kAmxRows, m - i);
      for (Index r = 0; r < kAmxRows; ++r) {
        uint8_t* dst = shifted.data() + r * lda;
        if (r >= rows) {  // padding rows and steps: 128, a zero activation
          std::fill_n(dst, lda, uint8_t(128));
          continue;
        }
        const int8_t* src = a + (i + r) * k;
#pragma omp simd
        for (Index q = 0; q < k; ++q) dst[q] = uint8_t(src[q] ^ int8_t(-128));  // +128
        std::fill(dst + k, dst + lda, uint8_t(128));
      }
      for (Index j0 = 0; j0 < np; j0 += kAmxRows) {
        amx_block(shifted.data(), lda, p, j0, sums);
        const Index cols = std::min<Index>(kAmxRows, n - j0);
        for (Index r = 0; r < rows; ++r) {
          int32_t* ci = c + (i + r) * n + j0;
          const int32_t* s = sums + r * kAmxRows;
          for (Index q = 0; q < cols; ++q) ci[q] = s[q] - p.shift[static_cast<size_t>(j0 + q)];
        }
      }
    }
  });
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

Int8Kernel int8_kernel_from_name(const std::string& name) {
  if (name == "reference") return Int8Kernel::Reference;
  if (name == "vnni") {
    if (!int8_vnni_supported())
      throw std::invalid_argument("int8 kernel vnni: this CPU has no AVX512-VNNI");
    return Int8Kernel::Vnni;
  }
  if (name == "amx") {
    if (!amx_int8_supported())
      throw std::invalid_argument("int8 kernel amx: this CPU (or OS) has no AMX-INT8 tiles");
    return Int8Kernel::Amx;
  }
  if (name.empty() || name == "auto") {
    if (amx_int8_supported()) return Int8Kernel::Amx;
    return int8_vnni_supported() ? Int8Kernel::Vnni : Int8Kernel::Reference;
  }
  throw std::invalid_argument("int8 kernel must be reference, vnni, amx or auto, got " + name);
}

Int8Kernel int8_kernel_in_use() {
  const char* env = std::getenv("EIGENNET_INT8_KERNEL");
  try {
    return int8_kernel_from_name(env ? env : "");
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string("EIGENNET_INT8_KERNEL: ") + e.what() +
                                " (or unset it)");
  }
}

std::string int8_kernel_name(Int8Kernel kernel) {
  switch (kernel) {
    case Int8Kernel::Amx:
      return "amx";
    case Int8Kernel::Vnni:
      return "vnni";
    default:
      return "reference";
  }
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
  if (kernel == Int8Kernel::Vnni && !int8_vnni_supported())
    throw std::invalid_argument("int8_gemm: this CPU has no AVX512-VNNI");
  if (kernel == Int8Kernel::Amx && !amx_int8_supported())
    throw std::invalid_argument("int8_gemm: this CPU (or OS) has no AMX-INT8");
  const Index kp = packed_k_of(k, kernel), np = packed_n_of(n, kernel);
  p.values.assign(static_cast<size_t>(kp * np), 0);
  p.shift.assign(static_cast<size_t>(np), 0);
  for (Index q = 0; q < k; ++q) {
    int8_t* dst = p.values.data() + (q / 4) * np * 4 + q % 4;
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
  if (b.kernel == Int8Kernel::Amx) return amx_gemm(m, a, b, c);
#endif
  reference_gemm(m, a, b, c);
}

}  // namespace eigennet
