#include "eigennet/bf16_gemm.hpp"

#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <stdexcept>

#include "eigennet/amx.hpp"
#include "eigennet/lane_mask.hpp"
#include "eigennet/product_precision.hpp"
#include "eigennet/threading.hpp"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define EIGENNET_BF16_X86 1
#define EIGENNET_AVX512BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512bf16")))
#define EIGENNET_AMX_TARGET __attribute__((target("amx-tile,amx-bf16")))
#endif

namespace eigennet {
namespace {

constexpr Index kTile = 16;   // rows and columns of an AMX tile of C
constexpr Index kBlock = 32;  // a block of C: 2 x 2 tiles, the unit of the threads' work
constexpr Index kDepth = 32;  // K per AMX tile of A (32 bfloat16 in a 64-byte row)

Index round_up(Index n, Index m) { return (n + m - 1) / m * m; }

// The packed operands, zero-padded to whole blocks: op(A) as an (Mp x Kp) row-major bf16
// matrix, whose 16-row panels are AMX A tiles; op(B) as Np / 16 panels of 16 columns, each
// Kp / 2 rows of 16 column pairs: the layout both TDPBF16PS and VDPBF16PS read (two steps of
// K per 32-bit lane).
struct Packed {
  Index Mp = 0, Np = 0, Kp = 0;
  // A's rows are lda values apart: Kp plus a cache line, so that the 16 rows of a tile do not
  // all fall in one L1 set when Kp is a multiple of 2048 (4 KB rows).
  Index lda = 0;
  std::uint16_t* a = nullptr;
  std::uint16_t* b = nullptr;
  std::uint16_t* a_rows(Index i) const { return a + i * lda; }
  std::uint16_t* b_panel(Index j) const { return b + (j / kTile) * Kp * kTile; }
};

// A finished 32 x 32 block (tmp, rows 32 apart) into C, clipped to rows x cols. (A plain
// loop: std::copy would call memmove for every 128-byte row.)
void store_block(const float* tmp, float* C, Index ldc, Index rows, Index cols, bool accumulate) {
  for (Index r = 0; r < rows; ++r) {
    float* c = C + r * ldc;
    const float* t = tmp + r * kBlock;
    if (accumulate)
      for (Index j = 0; j < cols; ++j) c[j] += t[j];
    else
      for (Index j = 0; j < cols; ++j) c[j] = t[j];
  }
}

#ifdef EIGENNET_BF16_X86
// Block (i0, j0) of C into out (rows ldo floats apart).
EIGENNET_AMX_TARGET void amx_block(const Packed& p, Index i0, Index j0, float* out, Index ldo) {
  const std::uint16_t* a0 = p.a_rows(i0);
  const std::uint16_t* a1 = p.a_rows(i0 + kTile);
  const std::uint16_t* b0 = p.b_panel(j0);
  const std::uint16_t* b1 = p.b_panel(j0 + kTile);
  const Index a_stride = p.lda * Index(sizeof(std::uint16_t));
  _tile_zero(0);
  _tile_zero(1);
  _tile_zero(2);
  _tile_zero(3);
  for (Index k = 0; k < p.Kp; k += kDepth) {
    _tile_loadd(4, a0 + k, a_stride);
    _tile_loadd(5, a1 + k, a_stride);
    _tile_loadd(6, b0 + k * kTile, 64);  // k / 2 rows of 32 values
    _tile_loadd(7, b1 + k * kTile, 64);
    _tile_dpbf16ps(0, 4, 6);
    _tile_dpbf16ps(1, 4, 7);
    _tile_dpbf16ps(2, 5, 6);
    _tile_dpbf16ps(3, 5, 7);
  }
  const Index row_bytes = ldo * Index(sizeof(float));
  _tile_stored(0, out, row_bytes);
  _tile_stored(1, out + kTile, row_bytes);
  _tile_stored(2, out + kTile * ldo, row_bytes);
  _tile_stored(3, out + kTile * ldo + kTile, row_bytes);
}

// The same block with VDPBF16PS: 8 rows x 32 columns at a time (16 accumulators), each step
// two pairs of K from two vectors of B and one broadcast pair of A per row.
EIGENNET_AVX512BF16_TARGET void avx512_block(const Packed& p, Index i0, Index j0, float* out,
                                             Index ldo) {
  constexpr Index kRows = 8;
  const std::uint16_t* b0 = p.b_panel(j0);
  const std::uint16_t* b1 = p.b_panel(j0 + kTile);
  for (Index r0 = 0; r0 < kBlock; r0 += kRows) {
    __m512 acc[kRows][2];
    for (Index r = 0; r < kRows; ++r) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    const std::uint16_t* a = p.a_rows(i0 + r0);
    for (Index q = 0; q < p.Kp / 2; ++q) {
      const __m512bh v0 = (__m512bh)_mm512_loadu_si512(b0 + q * 2 * kTile);
      const __m512bh v1 = (__m512bh)_mm512_loadu_si512(b1 + q * 2 * kTile);
#pragma GCC unroll 8
      for (Index r = 0; r < kRows; ++r) {
        std::uint32_t pair;
        std::memcpy(&pair, a + r * p.lda + 2 * q, sizeof pair);
        const __m512bh u = (__m512bh)_mm512_set1_epi32(int(pair));
        acc[r][0] = _mm512_dpbf16_ps(acc[r][0], u, v0);
        acc[r][1] = _mm512_dpbf16_ps(acc[r][1], u, v1);
      }
    }
    for (Index r = 0; r < kRows; ++r) {
      _mm512_storeu_ps(out + (r0 + r) * ldo, acc[r][0]);
      _mm512_storeu_ps(out + (r0 + r) * ldo + kTile, acc[r][1]);
    }
  }
}

// 32 floats (those past `count` read as zeros) rounded to bfloat16, in order.
EIGENNET_AVX512BF16_TARGET inline __m512i round32(const float* src, Index count) {
  const __m512 x0 = _mm512_maskz_loadu_ps(first_lanes(count), src);
  const __m512 x1 = _mm512_maskz_loadu_ps(first_lanes(count - 16), src + 16);
  return (__m512i)_mm512_cvtne2ps_pbh(x1, x0);
}

// 16 floats of each of two steps of K rounded and interleaved: lane c holds the pair
// (x0[c], x1[c]).
EIGENNET_AVX512BF16_TARGET inline __m512i round_pairs(__m512 x0, __m512 x1) {
  const __m512i interleave =
      _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8, 23, 7, 22, 6,
                       21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
  return _mm512_permutexvar_epi16(interleave, (__m512i)_mm512_cvtne2ps_pbh(x1, x0));
}

// A 16 x 16 block of 32-bit pairs, transposed: the pair at out[x * ld + 2 * y] is in[y][x].
void transpose_pairs(const std::uint32_t (&in)[16][16], std::uint16_t* out, Index ld) {
  for (Index x = 0; x < 16; ++x)
    for (Index y = 0; y < 16; ++y) std::memcpy(out + x * ld + 2 * y, &in[y][x], 4);
}

// Rows [i0, i0 + 16) of op(A), rounded (rows past M and steps past K are zeros).
EIGENNET_AVX512BF16_TARGET void pack_a_panel(bool trans_a, const float* A, Index lda, Index M,
                                             Index K, const Packed& p, Index i0) {
  std::uint16_t* out = p.a_rows(i0);
  const Index rows = std::clamp<Index>(M - i0, 0, kTile);
  if (!trans_a) {
    for (Index r = rows; r < kTile; ++r) std::fill(out + r * p.lda, out + r * p.lda + p.Kp, 0);
    for (Index r = 0; r < rows; ++r)
      for (Index k = 0; k < p.Kp; k += kDepth)
        _mm512_storeu_si512(out + r * p.lda + k, round32(A + (i0 + r) * lda + k, K - k));
    return;
  }
  // op(A)'s rows are A's columns: pairs of A's rows, interleaved, then transposed.
  alignas(64) std::uint32_t pairs[16][16];
  for (Index k0 = 0; k0 < p.Kp; k0 += kDepth) {
    for (Index q = 0; q < 16; ++q) {
      const Index k = k0 + 2 * q;
      const __m512 x0 =
          k < K ? _mm512_maskz_loadu_ps(first_lanes(rows), A + k * lda + i0) : _mm512_setzero_ps();
      const __m512 x1 = k + 1 < K ? _mm512_maskz_loadu_ps(first_lanes(rows), A + (k + 1) * lda + i0)
                                  : _mm512_setzero_ps();
      _mm512_store_si512(pairs[q], round_pairs(x0, x1));
    }
    transpose_pairs(pairs, out + k0, p.lda);  // pairs[q][r]: row r's pair at step k0 + 2q
  }
}

// Panels of op(B) packed together: B's rows are read whole across them, not 64 bytes at a
// time down each panel (which measured twice as slow on a 2048 x 2048 weight).
constexpr Index kPanelsPerPack = 8;

// Columns [j0, j0 + 16 * panels) of op(B), rounded, in pairs of steps of K.
EIGENNET_AVX512BF16_TARGET void pack_b_panels(bool trans_b, const float* B, Index ldb, Index N,
                                              Index K, const Packed& p, Index j0, Index panels) {
  if (!trans_b) {
    for (Index k = 0; k < p.Kp; k += 2) {
      const float* row0 = k < K ? B + k * ldb : nullptr;
      const float* row1 = k + 1 < K ? B + (k + 1) * ldb : nullptr;
      for (Index q = 0; q < panels; ++q) {
        const Index j = j0 + q * kTile;
        const __mmask16 m = first_lanes(N - j);
        const __m512 x0 = row0 ? _mm512_maskz_loadu_ps(m, row0 + j) : _mm512_setzero_ps();
        const __m512 x1 = row1 ? _mm512_maskz_loadu_ps(m, row1 + j) : _mm512_setzero_ps();
        _mm512_storeu_si512(p.b_panel(j) + k * kTile, round_pairs(x0, x1));
      }
    }
    return;
  }
  // op(B)'s columns are B's rows, whose consecutive values are already pairs.
  alignas(64) std::uint32_t pairs[16][16];
  for (Index q = 0; q < panels; ++q) {
    const Index j = j0 + q * kTile, cols = std::clamp<Index>(N - j, 0, kTile);
    for (Index k0 = 0; k0 < p.Kp; k0 += kDepth) {
      for (Index c = 0; c < kTile; ++c)
        _mm512_store_si512(
            pairs[c], c < cols ? round32(B + (j + c) * ldb + k0, K - k0) : _mm512_setzero_si512());
      transpose_pairs(pairs, p.b_panel(j) + k0 * kTile, 2 * kTile);
    }
  }
}

#endif

}  // namespace

void round_to_bf16(float* values, Index n) {
  for (Index i = 0; i < n; ++i) values[i] = bf16_to_float(float_to_bf16(values[i]));
}

bool bf16_avx512_supported() {
#ifdef EIGENNET_BF16_X86
  static const bool supported = __builtin_cpu_supports("avx512f") &&
                                __builtin_cpu_supports("avx512bw") &&
                                __builtin_cpu_supports("avx512bf16");
  return supported;
#else
  return false;
#endif
}

Bf16Kernel bf16_kernel_from_name(const std::string& name) {
  if (name == "emulated") return Bf16Kernel::Emulated;
  if (name == "avx512") {
    if (!bf16_avx512_supported())
      throw std::invalid_argument("bf16 kernel avx512: this CPU has no AVX512_BF16");
    return Bf16Kernel::Avx512;
  }
  if (name == "amx") {
    if (!amx_bf16_supported())
      throw std::invalid_argument("bf16 kernel amx: this CPU (or OS) has no AMX-BF16 tiles");
    return Bf16Kernel::Amx;
  }
  if (name.empty() || name == "auto") {
    if (amx_bf16_supported()) return Bf16Kernel::Amx;
    if (bf16_avx512_supported()) return Bf16Kernel::Avx512;
    return Bf16Kernel::Emulated;
  }
  throw std::invalid_argument("bf16 kernel must be emulated, avx512, amx or auto, got " + name);
}

Bf16Kernel bf16_kernel_in_use() {
  const char* env = std::getenv("EIGENNET_BF16_KERNEL");
  try {
    return bf16_kernel_from_name(env ? env : "");
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string("EIGENNET_BF16_KERNEL: ") + e.what() +
                                " (or unset it)");
  }
}

std::string bf16_kernel_name(Bf16Kernel kernel) {
  switch (kernel) {
    case Bf16Kernel::Amx:
      return "amx";
    case Bf16Kernel::Avx512:
      return "avx512";
    default:
      return "emulated";
  }
}

void bf16_gemm(bool trans_a, bool trans_b, Index M, Index N, Index K, const float* A, Index lda,
               const float* B, Index ldb, float* C, Index ldc, bool accumulate,
               const GemmEpilogue* epilogue, Bf16Kernel kernel) {
  if (M <= 0 || N <= 0) return;
#ifdef EIGENNET_BF16_X86
  if (kernel != Bf16Kernel::Emulated && K > 0) {
    Packed p;
    p.Mp = round_up(M, kBlock);
    p.Np = round_up(N, kBlock);
    p.Kp = round_up(K, kDepth);
    p.lda = p.Kp + kDepth;
    thread_local AlignedVector<std::uint16_t> buffer;  // the caller's; its threads share it
    buffer.resize(static_cast<size_t>(p.Mp * p.lda + p.Np * p.Kp));
    p.a = buffer.data();
    p.b = p.a + p.Mp * p.lda;
    // Threads as gemm(): each takes a slice of the larger side of C, in whole blocks.
    const bool split_cols = p.Np >= p.Mp;
    const Index blocks = (split_cols ? p.Np : p.Mp) / kBlock;
    const bool parallel = get_num_threads() > 1 && !omp_in_parallel() &&
                          2.0 * double(M) * double(N) * double(K) >= kGemmParallelFlops;
    const int threads = parallel ? int(std::min<Index>(get_num_threads(), blocks)) : 1;
    // Packing work: A's panels, and B's in groups, each shared by the threads.
    const Index a_panels = p.Mp / kTile, b_panels = p.Np / kTile;
    const Index b_groups = (b_panels + kPanelsPerPack - 1) / kPanelsPerPack;
#pragma omp parallel num_threads(threads) if (threads > 1)
    {
#pragma omp for schedule(static) nowait
      for (Index q = 0; q < a_panels; ++q) pack_a_panel(trans_a, A, lda, M, K, p, q * kTile);
#pragma omp for schedule(static)
      for (Index g = 0; g < b_groups; ++g)
        pack_b_panels(trans_b, B, ldb, N, K, p, g * kPanelsPerPack * kTile,
                      std::min(kPanelsPerPack, b_panels - g * kPanelsPerPack));
      const Index t = omp_get_thread_num(), nt = omp_get_num_threads();
      const Index first = blocks * t / nt, last = blocks * (t + 1) / nt;
      if (first < last) {
        const Index i_begin = split_cols ? 0 : first * kBlock;
        const Index i_end = split_cols ? p.Mp : last * kBlock;
        const Index j_begin = split_cols ? first * kBlock : 0;
        const Index j_end = split_cols ? last * kBlock : p.Np;
        alignas(64) float tmp[kBlock * kBlock];
        const bool amx = kernel == Bf16Kernel::Amx;
        if (amx) amx_configure_tiles();
        // Columns outer: two panels of B stay in cache while the rows of A stream past.
        for (Index j0 = j_begin; j0 < j_end; j0 += kBlock)
          for (Index i0 = i_begin; i0 < i_end; i0 += kBlock) {
            const Index rows = std::min(kBlock, M - i0), cols = std::min(kBlock, N - j0);
            // A whole block that overwrites C goes there directly.
            const bool direct = rows == kBlock && cols == kBlock && !accumulate;
            float* out = direct ? C + i0 * ldc + j0 : tmp;
            const Index ldo = direct ? ldc : kBlock;
            if (amx)
              amx_block(p, i0, j0, out, ldo);
            else
              avx512_block(p, i0, j0, out, ldo);
            if (!direct) store_block(tmp, C + i0 * ldc + j0, ldc, rows, cols, accumulate);
          }
        if (epilogue) {
          const Index r0 = std::min(i_begin, M), c0 = std::min(j_begin, N);
          const Index rows = std::min(i_end, M) - r0, cols = std::min(j_end, N) - c0;
          if (rows > 0 && cols > 0) (*epilogue)(r0, rows, c0, cols);
        }
      }
    }
    return;
  }
#endif
  rounded_gemm(ProductPrecision::BFloat16, trans_a, trans_b, M, N, K, A, lda, B, ldb, C, ldc,
               accumulate, epilogue);
}

}  // namespace eigennet
