// Matrix products with bfloat16 operands and float32 sums: what gemm<float> runs for a layer
// that computes in bfloat16 (product_precision.hpp). The operands stay float32 in memory and
// are rounded to bfloat16 (to nearest, ties to even) as they are packed; every product of two
// bfloat16 values is exact in float32, so the kernels differ only in the order of the sums.
//
// The kernel is chosen at run time: AMX tiles (TDPBF16PS) where the CPU and the OS allow
// them, else AVX512_BF16 (VDPBF16PS), else an emulation that runs the rounded operands
// through the float32 product. EIGENNET_BF16_KERNEL=emulated|avx512|amx|auto forces one, so
// that tests compare every path on one machine; asking for one the CPU lacks raises.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>

#include "eigennet/gemm.hpp"

namespace eigennet {

enum class Bf16Kernel { Emulated, Avx512, Amx };

bool bf16_avx512_supported();  // (AMX: amx.hpp)
// The kernel in use: EIGENNET_BF16_KERNEL if set, else the best this CPU runs.
Bf16Kernel bf16_kernel_in_use();
Bf16Kernel bf16_kernel_from_name(const std::string& name);  // "auto" is the one in use
std::string bf16_kernel_name(Bf16Kernel kernel);

// float32 -> bfloat16 bits as VCVTNE2PS2BF16 converts: to nearest with ties to even, a NaN
// stays a (quiet) NaN, a denormal becomes a zero of its sign.
inline std::uint16_t float_to_bf16(float x) {
  std::uint32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  if ((bits & 0x7FFFFFFFu) > 0x7F800000u) return std::uint16_t((bits >> 16) | 0x40u);
  if ((bits & 0x7F800000u) == 0) return std::uint16_t((bits >> 16) & 0x8000u);
  bits += 0x7FFFu + ((bits >> 16) & 1u);
  return std::uint16_t(bits >> 16);
}
inline float bf16_to_float(std::uint16_t h) {
  const std::uint32_t bits = std::uint32_t(h) << 16;
  float x;
  std::memcpy(&x, &bits, sizeof x);
  return x;
}

// Rounds n values in place to bfloat16 (kept as float32), as float_to_bf16 does: for products
// whose operands are packed by the float32 kernels (a recurrent layer's PackedMatrix).
void round_to_bf16(float* values, Index n);

// C (M x N) = op(A) · op(B) with both operands rounded to bfloat16, or C += ... when
// accumulate; arguments as gemm() (gemm.hpp), threads as gemm().
void bf16_gemm(bool trans_a, bool trans_b, Index M, Index N, Index K, const float* A, Index lda,
               const float* B, Index ldb, float* C, Index ldc, bool accumulate,
               const GemmEpilogue* epilogue, Bf16Kernel kernel);

}  // namespace eigennet
