// Integer matrix product of int8 quantized operands (Keras's int8 quantization): exact int32
// sums, so every kernel gives bit-identical results.
//
// The kernel is chosen at run time: AVX512-VNNI (vpdpbusd) where the CPU has it, else a plain
// C++ loop. EIGENNET_INT8_KERNEL=reference (or vnni) forces one, so that tests compare both
// paths on one machine; asking for vnni on a CPU without it raises.
#pragma once

#include <cstdint>
#include <string>

#include "eigennet/tensor.hpp"

namespace eigennet {

enum class Int8Kernel { Reference, Vnni };

// Whether this CPU (and OS) runs the AVX512-VNNI kernel.
bool int8_vnni_supported();
// The kernel in use: EIGENNET_INT8_KERNEL if set ("reference", "vnni", "auto"), else the best.
Int8Kernel int8_kernel_in_use();
std::string int8_kernel_name(Int8Kernel kernel);

// c (m, n) = a (m, k) x b (k, n), all row-major; int8 operands in [-127, 127] (Keras's range;
// -128 is also exact), int32 result.
void int8_gemm(Index m, Index n, Index k, const int8_t* a, const int8_t* b, int32_t* c,
               Int8Kernel kernel);
inline void int8_gemm(Index m, Index n, Index k, const int8_t* a, const int8_t* b, int32_t* c) {
  int8_gemm(m, n, k, a, b, c, int8_kernel_in_use());
}

}  // namespace eigennet
