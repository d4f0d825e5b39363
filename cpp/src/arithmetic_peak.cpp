#include "eigennet/arithmetic_peak.hpp"

#include <omp.h>

#include <chrono>
#include <stdexcept>

#include "eigennet/amx.hpp"
#include "eigennet/bf16_gemm.hpp"
#include "eigennet/int8_gemm.hpp"
#include "eigennet/threading.hpp"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define EIGENNET_PEAK_X86 1
#endif

namespace eigennet {
namespace {

using Clock = std::chrono::steady_clock;

// Counts the operations of a loop that runs until `seconds` have passed. (The loops stay in
// their own functions: a lambda would not inherit their target attribute, and their
// intrinsics would not compile for a variant without the instructions.)
class Timed {
 public:
  explicit Timed(double seconds) : seconds_(seconds), start_(Clock::now()) {}
  // Adds a chunk's operations; false once the time is up.
  bool more(double ops) {
    ops_ += ops;
    elapsed_ = std::chrono::duration<double>(Clock::now() - start_).count();
    return elapsed_ < seconds_;
  }
  double rate() const { return ops_ / elapsed_; }

 private:
  double seconds_, ops_ = 0, elapsed_ = 0;
  Clock::time_point start_;
};

#ifdef EIGENNET_PEAK_X86
constexpr int kRepeats = 1024;  // instructions per accumulator between clock reads
constexpr int kChains = 12;     // independent accumulators: latency x ports of an FMA and more

bool avx512() { return __builtin_cpu_supports("avx512f"); }
bool avx2_fma() { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }

// A sink the compiler cannot see through: the loops' results reach memory.
volatile float float_sink;
volatile int int_sink;

__attribute__((target("avx512f"))) float lane0(__m512 x) { return _mm512_cvtss_f32(x); }

__attribute__((target("avx512f"))) double fma512(double seconds) {
  __m512 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm512_set1_ps(float(i));
  const __m512 a = _mm512_set1_ps(0.999f), b = _mm512_set1_ps(0.001f);
  Timed timed(seconds);
  do {
    for (int n = 0; n < kRepeats; ++n)
      for (int i = 0; i < kChains; ++i) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
  } while (timed.more(double(kRepeats) * kChains * 16 * 2));
  const double r = timed.rate();
  __m512 sum = acc[0];
  for (int i = 1; i < kChains; ++i) sum = _mm512_add_ps(sum, acc[i]);
  float_sink = lane0(sum);
  return r;
}

__attribute__((target("avx2,fma"))) double fma256(double seconds) {
  __m256 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm256_set1_ps(float(i));
  const __m256 a = _mm256_set1_ps(0.999f), b = _mm256_set1_ps(0.001f);
  Timed timed(seconds);
  do {
    for (int n = 0; n < kRepeats; ++n)
      for (int i = 0; i < kChains; ++i) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
  } while (timed.more(double(kRepeats) * kChains * 8 * 2));
  const double r = timed.rate();
  float lanes[8];
  __m256 sum = acc[0];
  for (int i = 1; i < kChains; ++i) sum = _mm256_add_ps(sum, acc[i]);
  _mm256_storeu_ps(lanes, sum);
  float_sink = lanes[0];
  return r;
}

__attribute__((target("avx512f,avx512bw,avx512bf16"))) double bf16_dot(double seconds) {
  __m512 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm512_setzero_ps();
  const __m512bh a = (__m512bh)_mm512_set1_epi16(0x3A80);  // 2^-10 in bfloat16
  Timed timed(seconds);
  do {
    for (int n = 0; n < kRepeats; ++n)
      for (int i = 0; i < kChains; ++i) acc[i] = _mm512_dpbf16_ps(acc[i], a, a);
  } while (timed.more(double(kRepeats) * kChains * 16 * 2 * 2));  // 2 products per lane
  const double r = timed.rate();
  __m512 sum = acc[0];
  for (int i = 1; i < kChains; ++i) sum = _mm512_add_ps(sum, acc[i]);
  float_sink = lane0(sum);
  return r;
}

__attribute__((target("avx512f,avx512bw,avx512vnni"))) double int8_dot(double seconds) {
  __m512i acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm512_setzero_si512();
  const __m512i a = _mm512_set1_epi8(1);
  Timed timed(seconds);
  do {
    for (int n = 0; n < kRepeats; ++n)
      for (int i = 0; i < kChains; ++i) acc[i] = _mm512_dpbusd_epi32(acc[i], a, a);
  } while (timed.more(double(kRepeats) * kChains * 16 * 4 * 2));  // 4 multiply-adds per lane
  const double r = timed.rate();
  __m512i sum = acc[0];
  for (int i = 1; i < kChains; ++i) sum = _mm512_add_epi32(sum, acc[i]);
  int_sink = _mm512_cvtsi512_si32(sum);
  return r;
}

// The operands and sums start at zero (the loops measure throughput, not values).
__attribute__((target("amx-tile"))) void zero_tiles() {
  _tile_zero(0);
  _tile_zero(1);
  _tile_zero(2);
  _tile_zero(3);
  _tile_zero(4);
  _tile_zero(5);
  _tile_zero(6);
  _tile_zero(7);
}

__attribute__((target("amx-tile,amx-bf16"))) double amx_bf16_rate(double seconds) {
  amx_configure_tiles();
  zero_tiles();
  Timed timed(seconds);
  do {
    for (int n = 0; n < kRepeats / 4; ++n) {
      _tile_dpbf16ps(0, 4, 6);
      _tile_dpbf16ps(1, 4, 7);
      _tile_dpbf16ps(2, 5, 6);
      _tile_dpbf16ps(3, 5, 7);
    }
  } while (timed.more(double(kRepeats) * 16 * 16 * 32 * 2));
  const double r = timed.rate();
  amx_release_tiles();
  return r;
}

__attribute__((target("amx-tile,amx-int8"))) double amx_int8_rate(double seconds) {
  amx_configure_tiles();
  zero_tiles();
  Timed timed(seconds);
  do {
    for (int n = 0; n < kRepeats / 4; ++n) {
      _tile_dpbusd(0, 4, 6);
      _tile_dpbusd(1, 4, 7);
      _tile_dpbusd(2, 5, 6);
      _tile_dpbusd(3, 5, 7);
    }
  } while (timed.more(double(kRepeats) * 16 * 16 * 64 * 2));
  const double r = timed.rate();
  amx_release_tiles();
  return r;
}
#endif

using Loop = double (*)(double);

Loop loop_for(const std::string& kind) {
#ifdef EIGENNET_PEAK_X86
  if (kind == "fp32_fma" && avx512()) return fma512;
  if (kind == "fp32_fma" && avx2_fma()) return fma256;
  if (kind == "bf16_dot" && bf16_avx512_supported()) return bf16_dot;
  if (kind == "int8_dot" && int8_vnni_supported()) return int8_dot;
  if (kind == "amx_bf16" && amx_bf16_supported()) return amx_bf16_rate;
  if (kind == "amx_int8" && amx_int8_supported()) return amx_int8_rate;
#endif
  return nullptr;
}

}  // namespace

std::vector<std::string> arithmetic_peak_kinds() {
  std::vector<std::string> kinds;
  for (const char* kind : {"fp32_fma", "bf16_dot", "int8_dot", "amx_bf16", "amx_int8"})
    if (loop_for(kind)) kinds.emplace_back(kind);
  return kinds;
}

double arithmetic_peak(const std::string& kind, int threads, double seconds) {
  const Loop loop = loop_for(kind);
  if (!loop)
    throw std::invalid_argument("arithmetic_peak: this CPU does not run " + kind +
                                " (fp32_fma, bf16_dot, int8_dot, amx_bf16 or amx_int8)");
  if (threads < 1 || threads > kMaxThreads)
    throw std::invalid_argument("arithmetic_peak: threads must be 1.." +
                                std::to_string(kMaxThreads));
  if (!(seconds > 0 && seconds <= 60))
    throw std::invalid_argument("arithmetic_peak: seconds must be in (0, 60]");
  double total = 0;
#pragma omp parallel num_threads(threads) reduction(+ : total)
  total += loop(seconds);
  return total / 1e9;
}

}  // namespace eigennet
