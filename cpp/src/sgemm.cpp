#include "eigennet/sgemm.hpp"

#if defined(__AVX512F__)
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "eigennet/lane_mask.hpp"
#include "eigennet/memory.hpp"
#endif

namespace eigennet {

#if defined(__AVX512F__)
namespace {

constexpr Index kMr = kSgemmTileRows;  // broadcasts of A per step of K
constexpr Index kNr = kSgemmTileCols;  // two vectors of packed B per step of K
constexpr Index kKc = 256;   // depth of a block: a packed 12-row panel of A (12 KB) stays in L1
constexpr Index kNc = 256;   // columns of a packed B block: 256 KB, a quarter of L2
constexpr Index kMc = 1536;  // rows of A packed at a time (1.5 MB, streamed panel by panel)

// How the kernel reads op(A): packed panels (R values per step of K, lda unused), A's rows in
// place (R rows lda apart), or A transposed in place (op(A)[i][k] = A[k * lda + i]: R
// consecutive values per step of K, steps lda apart).
enum AMode { kAPacked = 0, kARows = 1, kACols = 2 };

// Lines a kernel call brings into L2 while it computes, two per step of K: what the next call
// reads first. `rows` rows of `lines` 64-byte lines from `at`, rows `ld` floats apart.
struct Prefetch {
  const float* at = nullptr;
  Index rows = 0, lines = 0, ld = 0;
};

// C tile (R x 32 of C, ldc; columns masked by m0 | m1) = A panel · B panel over kc steps
// (+ C when load_c). B is packed: 32 values (64-byte aligned) per step of K.
// C's lines are prefetched before the loop and C added after it: the tile's rows are ldc
// apart (often a power of two, one L1 set) and loading them first stalled on cache misses; a
// C that is only stored is often cold too (a layer's output buffer, last written a step ago).
// On the last block of K, `last` is applied before the store (bias: this tile's 32 columns;
// residual: this tile's first element).
template <int R, int kA>
void micro_kernel(Index kc, const float* ap, Index lda, const float* bp, float* c, Index ldc,
                  bool load_c, __mmask16 m0, __mmask16 m1, Prefetch pf, SgemmTileEpilogue last) {
  Index pf_row = 0, pf_line = 0;
  __m512 acc[R][2];
#pragma GCC unroll 12
  for (Index i = 0; i < R; ++i) {
    acc[i][0] = _mm512_setzero_ps();
    acc[i][1] = _mm512_setzero_ps();
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + 16), _MM_HINT_T0);
  }
  for (Index k = 0; k < kc; ++k) {
    const __m512 b0 = _mm512_load_ps(bp + k * kNr);
    const __m512 b1 = _mm512_load_ps(bp + k * kNr + 16);
#pragma GCC unroll 12
    for (Index i = 0; i < R; ++i) {
      const float a = kA == kAPacked ? ap[k * R + i]
                      : kA == kARows ? ap[i * lda + k]
                                     : ap[k * lda + i];
      const __m512 ai = _mm512_set1_ps(a);
      acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
      acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
    }
    for (int t = 0; t < 2; ++t) {
      if (pf_row < pf.rows) {
        _mm_prefetch(reinterpret_cast<const char*>(pf.at + pf_row * pf.ld + pf_line * 16),
                     _MM_HINT_T1);
        if (++pf_line == pf.lines) {
          pf_line = 0;
          ++pf_row;
        }
      }
    }
  }
  const __m512 bias0 = last.bias ? _mm512_maskz_loadu_ps(m0, last.bias) : _mm512_setzero_ps();
  const __m512 bias1 = last.bias ? _mm512_maskz_loadu_ps(m1, last.bias + 16) : _mm512_setzero_ps();
#pragma GCC unroll 12
  for (Index i = 0; i < R; ++i) {
    if (load_c) {
      acc[i][0] = _mm512_add_ps(acc[i][0], _mm512_maskz_loadu_ps(m0, c + i * ldc));
      acc[i][1] = _mm512_add_ps(acc[i][1], _mm512_maskz_loadu_ps(m1, c + i * ldc + 16));
    }
    if (last.bias) {
      acc[i][0] = _mm512_add_ps(acc[i][0], bias0);
      acc[i][1] = _mm512_add_ps(acc[i][1], bias1);
    }
    if (last.residual) {
      acc[i][0] = _mm512_add_ps(acc[i][0], _mm512_maskz_loadu_ps(m0, last.residual + i * ldc));
      acc[i][1] = _mm512_add_ps(acc[i][1], _mm512_maskz_loadu_ps(m1, last.residual + i * ldc + 16));
    }
    if (last.relu) {  // max(0, x) in this operand order returns x when x is NaN, as Eigen's max
      acc[i][0] = _mm512_max_ps(_mm512_setzero_ps(), acc[i][0]);
      acc[i][1] = _mm512_max_ps(_mm512_setzero_ps(), acc[i][1]);
    }
    _mm512_mask_storeu_ps(c + i * ldc, m0, acc[i][0]);
    _mm512_mask_storeu_ps(c + i * ldc + 16, m1, acc[i][1]);
  }
}

using MicroKernel = void (*)(Index, const float*, Index, const float*, float*, Index, bool,
                             __mmask16, __mmask16, Prefetch, SgemmTileEpilogue);
using KernelRow = std::array<MicroKernel, kMr + 1>;
template <int kA, int... R>
constexpr KernelRow micro_kernels(std::integer_sequence<int, R...>) {
  return {nullptr, micro_kernel<R + 1, kA>...};
}
// [A mode][rows of the tile] (a last panel of fewer than kMr rows runs without padding).
constexpr std::array<KernelRow, 3> kKernels = {
    micro_kernels<kAPacked>(std::make_integer_sequence<int, kMr>()),
    micro_kernels<kARows>(std::make_integer_sequence<int, kMr>()),
    micro_kernels<kACols>(std::make_integer_sequence<int, kMr>())};

// GCC 12 flags the _mm512_undefined_ps() inside its own shuffle intrinsics (a false positive
// at -march=x86-64-v4, where -Wno-maybe-uninitialized does not cover it).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
// Transposes a 16 x 16 block: row c of dst (stride ldd) takes column c of the first `rows`
// rows of src (stride lds; the other rows read as zero); `lanes` masks the values stored.
inline void transpose16(const float* src, Index lds, Index rows, float* dst, Index ldd,
                        __mmask16 lanes) {
  __m512 r[16], t[16];
  for (Index i = 0; i < 16; ++i)
    r[i] = i < rows ? _mm512_loadu_ps(src + i * lds) : _mm512_setzero_ps();
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
  // u[4g + q], per 128-bit lane L: rows 4g .. 4g+3 at column 4L + q.
  for (int g = 0; g < 4; ++g) {
    r[4 * g + 0] = _mm512_shuffle_ps(t[4 * g], t[4 * g + 2], _MM_SHUFFLE(1, 0, 1, 0));
    r[4 * g + 1] = _mm512_shuffle_ps(t[4 * g], t[4 * g + 2], _MM_SHUFFLE(3, 2, 3, 2));
    r[4 * g + 2] = _mm512_shuffle_ps(t[4 * g + 1], t[4 * g + 3], _MM_SHUFFLE(1, 0, 1, 0));
    r[4 * g + 3] = _mm512_shuffle_ps(t[4 * g + 1], t[4 * g + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int q = 0; q < 4; ++q) {
    const __m512 v0 = _mm512_shuffle_f32x4(r[q], r[4 + q], 0x88);
    const __m512 w0 = _mm512_shuffle_f32x4(r[8 + q], r[12 + q], 0x88);
    const __m512 v1 = _mm512_shuffle_f32x4(r[q], r[4 + q], 0xDD);
    const __m512 w1 = _mm512_shuffle_f32x4(r[8 + q], r[12 + q], 0xDD);
    _mm512_mask_storeu_ps(dst + (q + 0) * ldd, lanes, _mm512_shuffle_f32x4(v0, w0, 0x88));
    _mm512_mask_storeu_ps(dst + (q + 8) * ldd, lanes, _mm512_shuffle_f32x4(v0, w0, 0xDD));
    _mm512_mask_storeu_ps(dst + (q + 4) * ldd, lanes, _mm512_shuffle_f32x4(v1, w1, 0x88));
    _mm512_mask_storeu_ps(dst + (q + 12) * ldd, lanes, _mm512_shuffle_f32x4(v1, w1, 0xDD));
  }
}

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

}  // namespace

// Panel p (h = min(kMr, mc - p) rows) sits at out + p * depth, element (i, k) at k * h + i:
// a short last panel is packed at its own width. Packing also keeps the kernel clear of
// cache-set conflicts: rows of A a power of two apart (1024, 2048 features) would otherwise
// map to the same L1 set.
void sgemm_pack_a(bool trans_a, const float* A, Index lda, Index mc, Index kc, float* out,
                  Index depth, Index k_at) {
  if (trans_a) {  // op(A)[i][k] = A[k][i]: row by row of A, front to back
    for (Index k = 0; k < kc; ++k) {
      const float* src = A + k * lda;
      for (Index p = 0; p < mc; p += kMr) {
        const Index h = std::min(kMr, mc - p);
        _mm512_mask_storeu_ps(out + p * depth + (k_at + k) * h, first_lanes(h),
                              _mm512_maskz_loadu_ps(first_lanes(h), src + p));
      }
    }
    return;
  }
  for (Index p = 0; p < mc; p += kMr) {  // a transpose of h rows of A, 16 steps of K at a time
    const Index h = std::min(kMr, mc - p);
    float* panel = out + p * depth + k_at * h;
    const float* src = A + p * lda;
    Index k = 0;
    for (; k + 16 <= kc; k += 16) transpose16(src + k, lda, h, panel + k * h, h, first_lanes(h));
    for (; k < kc; ++k)
      for (Index i = 0; i < h; ++i) panel[k * h + i] = src[i * lda + k];
  }
}

// Panel p (a multiple of kNr) sits at out + p * depth, element (k, j) at k * kNr + j, columns
// past nc zero.
void sgemm_pack_b(bool trans_b, const float* B, Index ldb, Index kc, Index nc, float* out,
                  Index depth, Index k_at) {
  if (!trans_b) {
    // Row by row of B, front to back, 16 columns at a time. (Panel by panel instead read 128
    // bytes of each of kc rows: for wide B a page apart, 40 % of W4's forward product.)
    for (Index k = 0; k < kc; ++k) {
      const float* src = B + k * ldb;
      float* row = out + (k_at + k) * kNr;
      for (Index j = 0; j < nc; j += 16)
        _mm512_store_ps(row + (j / kNr) * kNr * depth + j % kNr,
                        _mm512_maskz_loadu_ps(first_lanes(nc - j), src + j));
      if (nc % kNr != 0 && nc % kNr <= 16)  // the zero upper half of a last, half-used panel
        _mm512_store_ps(row + (nc / kNr) * kNr * depth + 16, _mm512_setzero_ps());
    }
    return;
  }
  for (Index p = 0; p < nc; p += kNr) {  // op(B)[k][j] = B[j][k]: w rows of B, 16 x 16 blocks
    const Index w = std::min(kNr, nc - p);
    float* panel = out + p * depth + k_at * kNr;
    const float* src = B + p * ldb;
    Index k = 0;
    for (; k + 16 <= kc; k += 16)
      for (Index g = 0; g < kNr; g += 16)
        transpose16(src + g * ldb + k, ldb, std::max<Index>(0, std::min<Index>(16, w - g)),
                    panel + k * kNr + g, kNr, __mmask16(0xFFFF));
    for (; k < kc; ++k)
      for (Index j = 0; j < kNr; ++j) panel[k * kNr + j] = j < w ? src[j * ldb + k] : 0.f;
  }
}

Index sgemm_packed_b_size(Index nc, Index depth) { return (nc + kNr - 1) / kNr * kNr * depth; }

namespace {

// C (mc x nc, ldc) (+)= op(A) · packed B over depth steps, tile by tile; a is read as a_mode
// says (see AMode).
void tiles(Index mc, Index nc, Index depth, const float* a, Index lda, int a_mode,
           const float* packed_b, float* C, Index ldc, bool accumulate) {
  const KernelRow& row = kKernels[a_mode];
  for (Index i0 = 0; i0 < mc; i0 += kMr) {
    const Index h = std::min(kMr, mc - i0);
    const MicroKernel kernel = row[h];
    const float* a_panel = a + (a_mode == kAPacked ? i0 * depth : a_mode == kARows ? i0 * lda : i0);
    for (Index p = 0; p < nc; p += kNr)
      kernel(depth, a_panel, lda, packed_b + p * depth, C + i0 * ldc + p, ldc, accumulate,
             first_lanes(nc - p), first_lanes(nc - p - 16), Prefetch{}, SgemmTileEpilogue{});
  }
}

// C (mc x nc, ldc) (+)= op(A) · op(B) over kc steps for one block of sgemm_kernel. B (b: the
// block's first element) is packed a 32-column panel at a time into packed_b as the first row
// panel of A reaches it, and every kernel call prefetches what comes next from memory: the
// next panel of B to pack during the first row panel, then, on each row panel's last column
// panel, the next row panel of A read in place. The weights and activations of small products
// come from L3 or the other core (an optimizer step or another layer wrote them last):
// fetched in one go by the packing loop, the kernel waited on them (measured with the caches
// flushed between products, 1 thread: W7's products 8-12 % faster, W3's layer-1 dW 15 %).
// `finish` (its bias at the block's first column, its residual at the block's first element)
// is applied when this is the last block of K.
void block_product(int a_mode, const float* a, Index lda, bool trans_b, const float* b, Index ldb,
                   float* packed_b, Index mc, Index nc, Index kc, float* C, Index ldc, bool load_c,
                   SgemmTileEpilogue finish) {
  const auto b_source = [&](Index p) {  // the panel of op(B) at column p
    Prefetch f;
    if (p >= nc) return f;
    const Index w = std::min(kNr, nc - p);
    f.at = trans_b ? b + p * ldb : b + p;
    f.rows = trans_b ? w : kc;
    f.lines = ((trans_b ? kc : w) + 15) / 16;
    f.ld = ldb;
    return f;
  };
  const auto a_panel = [&](Index i0) {  // the row panel of op(A) at row i0, read in place
    Prefetch f;
    if (a_mode == kAPacked || i0 >= mc) return f;
    const Index h = std::min(kMr, mc - i0);
    f.at = a_mode == kARows ? a + i0 * lda : a + i0;
    f.rows = a_mode == kARows ? h : kc;
    f.lines = ((a_mode == kARows ? kc : h) + 15) / 16;
    f.ld = lda;
    return f;
  };
  const KernelRow& row = kKernels[a_mode];
  for (Index i0 = 0; i0 < mc; i0 += kMr) {
    const MicroKernel kernel = row[std::min(kMr, mc - i0)];
    const float* ap = a + (a_mode == kAPacked ? i0 * kc : a_mode == kARows ? i0 * lda : i0);
    for (Index p = 0; p < nc; p += kNr) {
      const bool last = p + kNr >= nc;
      if (i0 == 0)
        sgemm_pack_b(trans_b, trans_b ? b + p * ldb : b + p, ldb, kc, std::min(kNr, nc - p),
                     packed_b + p * kc, kc, 0);
      const Prefetch f = i0 == 0 && !last ? b_source(p + kNr)
                         : last           ? a_panel(i0 + kMr)
                                          : Prefetch{};
      kernel(kc, ap, lda, packed_b + p * kc, C + i0 * ldc + p, ldc, load_c, first_lanes(nc - p),
             first_lanes(nc - p - 16), f,
             SgemmTileEpilogue{finish.bias ? finish.bias + p : nullptr,
                               finish.residual ? finish.residual + i0 * ldc + p : nullptr,
                               finish.relu});
    }
  }
}

}  // namespace

void sgemm_packed_product(Index mc, Index nc, Index depth, const float* a, Index lda,
                          const float* packed_b, float* C, Index ldc, bool accumulate) {
  tiles(mc, nc, depth, a, lda, lda ? kARows : kAPacked, packed_b, C, ldc, accumulate);
}

bool sgemm_reads_a_in_place(bool trans_a, Index lda) {
  // Unless the stride maps A's rows to one L1 set (a multiple of 4 KB: 1024, 2048 features).
  // In place saves a transposing copy: measured +5-15 % on W3's products.
  return !trans_a && lda % 1024 != 0;
}

bool sgemm_kernel_suits(Index M, Index N, Index K) {
  // EIGENNET_GEMM_KERNEL=eigen keeps Eigen's product everywhere (A/B runs, tests of the
  // fallback). Narrower than a tile, the padding costs more than Eigen's edge handling. The
  // row count does not decide: layers split rows between threads, and a slice must be summed
  // as the whole batch is.
  static const bool enabled = [] {
    const char* v = std::getenv("EIGENNET_GEMM_KERNEL");
    return !(v && std::strcmp(v, "eigen") == 0);
  }();
  return enabled && M > 0 && N >= kNr && K >= 8;
}

void sgemm_kernel(bool trans_a, bool trans_b, Index M, Index N, Index K, const float* A, Index lda,
                  const float* B, Index ldb, float* C, Index ldc, bool accumulate,
                  SgemmTileEpilogue epilogue) {
  // Per-thread scratch, kept between calls: packed blocks of A and B.
  thread_local AlignedVector<float> packed_a, packed_b;
  const Index kc_max = std::min(kKc, K);
  // A transposed is read in place too (each step of K reads kMr consecutive values of a row
  // of A), unless its rows are a multiple of 4 KB apart: then the steps of a panel share one
  // L1 set (measured on W4's dW, 2048 features: -25 % in place; +8-14 % on W3's and W7's).
  const int a_mode = sgemm_reads_a_in_place(trans_a, lda) ? kARows
                     : trans_a && lda % 1024 != 0         ? kACols
                                                          : kAPacked;
  if (a_mode == kAPacked && packed_a.size() < size_t(std::min(kMc, M) * kc_max))
    packed_a.resize(size_t(std::min(kMc, M) * kc_max));
  if (packed_b.size() < size_t(sgemm_packed_b_size(std::min(kNc, N), kc_max)))
    packed_b.resize(size_t(sgemm_packed_b_size(std::min(kNc, N), kc_max)));
  // K in equal blocks (784 = 4 x 196, not 3 x 256 + 16): a short last block would load and
  // store C for a few steps of work.
  const Index k_blocks = (K + kKc - 1) / kKc;
  const Index kc_even = ((K + k_blocks - 1) / k_blocks + 15) / 16 * 16;
  for (Index i0 = 0; i0 < M; i0 += kMc) {
    const Index mc = std::min(kMc, M - i0);
    for (Index k0 = 0; k0 < K; k0 += kc_even) {
      const Index kc = std::min(kc_even, K - k0);
      const float* a = trans_a ? A + k0 * lda + i0 : A + i0 * lda + k0;
      if (a_mode == kAPacked) sgemm_pack_a(trans_a, a, lda, mc, kc, packed_a.data(), kc, 0);
      const bool load_c = accumulate || k0 > 0;
      for (Index j0 = 0; j0 < N; j0 += kNc) {
        const Index nc = std::min(kNc, N - j0);
        const float* b = trans_b ? B + j0 * ldb + k0 : B + k0 * ldb + j0;
        const SgemmTileEpilogue finish =
            k0 + kc < K
                ? SgemmTileEpilogue{}
                : SgemmTileEpilogue{epilogue.bias ? epilogue.bias + j0 : nullptr,
                                    epilogue.residual ? epilogue.residual + i0 * ldc + j0 : nullptr,
                                    epilogue.relu};
        block_product(a_mode, a_mode == kAPacked ? packed_a.data() : a, lda, trans_b, b, ldb,
                      packed_b.data(), mc, nc, kc, C + i0 * ldc + j0, ldc, load_c, finish);
      }
    }
  }
}

#else  // no AVX-512: gemm() keeps Eigen's product

bool sgemm_kernel_suits(Index, Index, Index) { return false; }
void sgemm_kernel(bool, bool, Index, Index, Index, const float*, Index, const float*, Index, float*,
                  Index, bool, SgemmTileEpilogue) {}

#endif

}  // namespace eigennet
