#include "eigennet/int8_gemm.hpp"

#include <omp.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <utility>

#include "eigennet/amx.hpp"
#include "eigennet/lane_mask.hpp"

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
Index k4_of(Index k) { return (k + 3) / 4; }
Index n16_of(Index n) { return (n + 15) / 16 * 16; }
// The packed b's padded sizes: AMX reads whole tiles (64 steps of K, 2 x 16 columns).
Index packed_k_of(Index k, Int8Kernel kernel) {
  return kernel == Int8Kernel::Amx ? (k + 63) / 64 * 64 : k4_of(k) * 4;
}
Index packed_n_of(Index n, Int8Kernel kernel) {
  return kernel == Int8Kernel::Amx ? (n + 31) / 32 * 32 : n16_of(n);
}

// vpdpbusd multiplies unsigned by signed bytes, four at a time into each int32 lane. Here the
// weights are the unsigned side, b + 128, and the activations stay signed, broadcast four at a
// time: sum((b + 128) a) - 128 sum(a) undoes the shift exactly (vpdpbusd wraps, and the true
// sums fit in int32), and a needs no shifted copy. B is packed in panels of 32 columns (the last
// one 16 when n16 is an odd number of vectors): per step of 4 in K, 4 bytes per column, so one
// 64-byte load is 4 steps of 16 columns. Padding steps of K hold 0: they add nothing whatever a
// holds there.
constexpr Index kVnniRows = 12;    // rows of a tile: 24 accumulators over a 32-column panel
constexpr Index kVnniPanel = 32;   // columns of a panel
constexpr Index kVnniSteps = 128;  // steps of 4 in K per block: a 16 KB block of a panel in L1
constexpr Index kVnniChunk = 96;   // rows whose A (and C) stay in L2 while the blocks go by

Index vnni_panel_width(Index n16, Index j0) { return std::min(kVnniPanel, n16 - j0); }

// acc += u (unsigned bytes) . s (signed bytes), four per lane. Through asm: GCC 12 copies the
// accumulator of _mm512_dpbusd_epi32 around every use and spilled a 24-accumulator tile to the
// stack (measured: the 12 x 32 tile ran below the old 4 x 64 one until this).
EIGENNET_VNNI_TARGET inline void dpbusd(__m512i& acc, __m512i u, __m512i s) {
  asm("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(u), "v"(s));
}

// 128 * sum(row[0, k)), wrapped to int32 as the tiles' sums wrap: vpdpbusd of the row with
// bytes of 128, 64 at a time (a sum of int64 widenings took 5 % of an int8 predict).
EIGENNET_VNNI_TARGET int32_t vnni_row_shift(const int8_t* row, Index k) {
  const __m512i ones = _mm512_set1_epi8(char(0x80));
  __m512i acc = _mm512_setzero_si512();
  for (Index q = 0; q < k; q += 64)
    dpbusd(acc, ones, _mm512_maskz_loadu_epi8(first_bytes(k - q), row + q));
  alignas(64) int32_t lanes[16];
  _mm512_store_si512(lanes, acc);
  uint32_t sum = 0;
  for (const int32_t lane : lanes) sum += static_cast<uint32_t>(lane);
  return static_cast<int32_t>(sum);
}

// C tile (R rows x V vectors of 16 columns, ldc; lanes masked by m[v]) = the tile's sums over
// `steps` steps of 4 in K (a: R rows lda apart; b: the panel's block, V * 64 bytes per step),
// minus the rows' shifts (first block of K) or plus what C holds (later blocks).
template <int R, int V>
EIGENNET_VNNI_TARGET void vnni_tile(Index steps, const int8_t* a, Index lda, const uint8_t* b,
                                    int32_t* c, Index ldc, bool first, const int32_t* row_shift,
                                    const __mmask16* m) {
  __m512i acc[R][V];
#pragma GCC unroll 12
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 2
    for (int v = 0; v < V; ++v) acc[r][v] = _mm512_setzero_si512();
  for (Index q = 0; q < steps; ++q, b += V * 64) {
    __m512i bv[V];
#pragma GCC unroll 2
    for (int v = 0; v < V; ++v)
      bv[v] = _mm512_loadu_si512(b + v * 64);  // (16-byte aligned in the baseline build)
#pragma GCC unroll 12
    for (int r = 0; r < R; ++r) {
      int32_t four;
      std::memcpy(&four, a + r * lda + q * 4, 4);
      const __m512i av = _mm512_set1_epi32(four);
#pragma GCC unroll 2
      for (int v = 0; v < V; ++v) dpbusd(acc[r][v], bv[v], av);
    }
  }
#pragma GCC unroll 12
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 2
    for (int v = 0; v < V; ++v) {
      int32_t* out = c + r * ldc + v * 16;
      const __m512i base = first ? _mm512_set1_epi32(int32_t(0u - uint32_t(row_shift[r])))
                                 : _mm512_maskz_loadu_epi32(m[v], out);
      _mm512_mask_storeu_epi32(out, m[v], _mm512_add_epi32(acc[r][v], base));
    }
}

using VnniTile = void (*)(Index, const int8_t*, Index, const uint8_t*, int32_t*, Index, bool,
                          const int32_t*, const __mmask16*);
template <int V, int... R>
constexpr std::array<VnniTile, kVnniRows + 1> vnni_tiles(std::integer_sequence<int, R...>) {
  return {nullptr, vnni_tile<R + 1, V>...};
}
// [vectors - 1][rows]
constexpr std::array<std::array<VnniTile, kVnniRows + 1>, 2> kVnniTiles = {
    vnni_tiles<1>(std::make_integer_sequence<int, kVnniRows>()),
    vnni_tiles<2>(std::make_integer_sequence<int, kVnniRows>())};

void vnni_gemm(Index m, const int8_t* a, const PackedInt8B& p, int32_t* c) {
  const Index k = p.k, n = p.n, k4 = k4_of(k), n16 = n16_of(n);
  if (k4 == 0) {  // empty sums
    std::fill_n(c, m * n, 0);
    return;
  }
  const Index k_blocks = (k4 + kVnniSteps - 1) / kVnniSteps;
  const Index steps_per_block = (k4 + k_blocks - 1) / k_blocks;  // equal blocks
  const uint8_t* packed = reinterpret_cast<const uint8_t*>(p.values.data());
  const Index row_blocks = (m + kVnniRows - 1) / kVnniRows;
  over_blocks(row_blocks, double(m) * n * k, [&](Index first, Index last) {
    const Index i0 = first * kVnniRows, i1 = std::min(m, last * kVnniRows);
    if (i0 >= i1) return;
    // Per chunk of rows: the rows' shifts, and where K is not a multiple of 4 a copy of the
    // rows with zero padding (4-byte reads stay inside; bounded memory whatever m is).
    thread_local AlignedVector<int8_t> padded;
    thread_local AlignedVector<int32_t> shift;
    const Index lda = k % 4 != 0 ? k4 * 4 : k;
    for (Index c0 = i0; c0 < i1; c0 += kVnniChunk) {
      const Index c1 = std::min(i1, c0 + kVnniChunk);
      const int8_t* rows = a + c0 * k;
      if (lda != k) {
        padded.assign(static_cast<size_t>((c1 - c0) * lda), 0);
        for (Index i = c0; i < c1; ++i) std::copy_n(a + i * k, k, padded.data() + (i - c0) * lda);
        rows = padded.data();
      }
      shift.resize(static_cast<size_t>(c1 - c0));
      for (Index i = 0; i < c1 - c0; ++i)
        shift[static_cast<size_t>(i)] = vnni_row_shift(rows + i * lda, k);
      for (Index q0 = 0; q0 < k4; q0 += steps_per_block) {
        const Index steps = std::min(steps_per_block, k4 - q0);
        for (Index j0 = 0; j0 < n16; j0 += kVnniPanel) {
          const Index width = vnni_panel_width(n16, j0);
          const uint8_t* block = packed + j0 * k4 * 4 + q0 * width * 4;
          const __mmask16 masks[2] = {first_lanes(n - j0), first_lanes(n - j0 - 16)};
          const auto& tiles = kVnniTiles[static_cast<size_t>(width / 16 - 1)];
          for (Index i = c0; i < c1; i += kVnniRows) {
            const Index h = std::min(kVnniRows, c1 - i);
            tiles[static_cast<size_t>(h)](steps, rows + (i - c0) * lda + q0 * 4, lda, block,
                                          c + i * n + j0, n, q0 == 0, shift.data() + (i - c0),
                                          masks);
          }
        }
      }
    }
  });
}

// tdpbusd: the same unsigned-by-signed products as vpdpbusd, on 16 x 64-byte tiles: each
// 32-row block of a (shifted to unsigned, a + 128, padded with 128: zero activations) times
// 2 x 16 columns of b per step of 64 in K, into 2 x 2 tiles of int32 sums (amx.hpp's
// configuration); sum((a + 128) b) - 128 sum(b) (PackedInt8B::shift) undoes the shift. b is
// packed as (K / 4, N, 4): 64 bytes are 4 steps of K of 16 columns.
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
  if (kernel == Int8Kernel::Vnni) {  // panels of b + 128 (see vnni_gemm)
    const Index k4 = k4_of(k);
    for (Index j0 = 0; j0 < np; j0 += kVnniPanel) {
      const Index width = vnni_panel_width(np, j0);
      int8_t* panel = p.values.data() + j0 * k4 * 4;
      for (Index q = 0; q < k; ++q)
        for (Index j = j0; j < std::min(n, j0 + width); ++j)
          panel[(q / 4) * width * 4 + (j - j0) * 4 + q % 4] =
              static_cast<int8_t>(uint8_t(int32_t(b[q * n + j]) + 128));
    }
    return p;
  }
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
