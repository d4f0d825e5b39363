#include "eigennet/product_precision.hpp"

#include <omp.h>

#include <cstdint>
#include <cstring>
#include <stdexcept>

#include "eigennet/bf16_gemm.hpp"
#include "eigennet/threading.hpp"

namespace eigennet {
namespace {
thread_local ProductPrecision current = ProductPrecision::Float32;
}  // namespace

ProductPrecision product_precision() { return current; }

ProductPrecisionScope::ProductPrecisionScope(ProductPrecision precision) : previous_(current) {
  current = precision;
}

ProductPrecisionScope::~ProductPrecisionScope() { current = previous_; }

ProductPrecision product_precision_from_name(const std::string& name) {
  if (name == "float32") return ProductPrecision::Float32;
  if (name == "bfloat16") return ProductPrecision::BFloat16;
  if (name == "float16") return ProductPrecision::Float16;
  throw std::invalid_argument("product_precision must be float32, bfloat16 or float16, got " +
                              name);
}

std::string product_precision_name(ProductPrecision precision) {
  switch (precision) {
    case ProductPrecision::BFloat16:
      return "bfloat16";
    case ProductPrecision::Float16:
      return "float16";
    default:
      return "float32";
  }
}

namespace {

// x rounded to the nearest float16 value (ties to even; beyond 65504 infinite; float16's
// subnormals kept), as a float. Bit arithmetic rather than _Float16 conversions: the same
// code in every ISA variant (the baseline has no F16C: a libgcc call per value), and
// independent of MXCSR's modes (flush-to-zero is set while training, subnormals.hpp).
inline float round_to_float16(float x) {
  std::uint32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  const std::uint32_t sign = bits & 0x80000000u, magnitude = bits ^ sign;
  std::uint32_t r;
  if (magnitude >= 0x7F800000u) {  // inf, NaN
    r = magnitude;
  } else if (magnitude >= 0x477FF000u) {  // 65520 and above round past 65504
    r = 0x7F800000u;
  } else if (magnitude >= 0x38800000u) {  // float16 normals (from 2^-14): 10 of 23 bits
    r = (magnitude + 0xFFFu + ((magnitude >> 13) & 1u)) & ~0x1FFFu;
  } else {  // subnormals, multiples of 2^-24: the ulp of 0.5 rounds them (to nearest even)
    float a;
    std::memcpy(&a, &magnitude, sizeof a);
    a = (a + 0.5f) - 0.5f;
    std::memcpy(&r, &a, sizeof r);
  }
  r |= sign;
  float out;
  std::memcpy(&out, &r, sizeof out);
  return out;
}

}  // namespace

void round_to_precision(ProductPrecision precision, float* values, Index n) {
  // Split between the threads when large (a model's 16-bit weights after every step).
  const bool split = parallel_for_worth(n) && !omp_in_parallel();
  if (precision == ProductPrecision::BFloat16) {
#pragma omp parallel for simd schedule(static) if (split)
    for (Index i = 0; i < n; ++i) values[i] = bf16_to_float(float_to_bf16(values[i]));
  } else if (precision == ProductPrecision::Float16) {
#pragma omp parallel for simd schedule(static) if (split)
    for (Index i = 0; i < n; ++i) values[i] = round_to_float16(values[i]);
  }
}

}  // namespace eigennet
