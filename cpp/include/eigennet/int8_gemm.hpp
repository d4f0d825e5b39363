// Integer matrix product of int8 quantized operands (Keras's int8 quantization): exact int32
// sums, so every kernel gives bit-identical results.
//
// The kernel is chosen at run time: AMX tiles (tdpbusd) where the CPU and OS allow them, else
// AVX512-VNNI (vpdpbusd), else a plain C++ loop. EIGENNET_INT8_KERNEL=reference|vnni|amx forces
// one, so that tests compare the paths on one machine; asking for one the CPU lacks raises.
#pragma once

#include <cstdint>
#include <string>

#include "eigennet/tensor.hpp"

namespace eigennet {

enum class Int8Kernel { Reference, Vnni, Amx };

// Whether this CPU (and OS) runs the AVX512-VNNI kernel.
bool int8_vnni_supported();
// The kernel in use: EIGENNET_INT8_KERNEL if set ("reference", "vnni", "amx", "auto"), else
// the best.
Int8Kernel int8_kernel_in_use();
Int8Kernel int8_kernel_from_name(const std::string& name);  // "auto": the one in use
std::string int8_kernel_name(Int8Kernel kernel);

// b (k, n) laid out for one kernel: a layer packs its weights once and reuses them.
struct PackedInt8B {
  Index k = 0, n = 0;
  Int8Kernel kernel = Int8Kernel::Reference;
  // reference: b as is; vnni: b + 128 in panels of 32 columns, each (k/4, 32, 4); amx: (k
  // rounded to 64 / 4, n rounded to 32, 4)
  AlignedVector<int8_t> values;
  AlignedVector<int32_t> shift;  // amx: 128 * column sums (see int8_gemm.cpp)
};
PackedInt8B pack_int8_b(Index k, Index n, const int8_t* b, Int8Kernel kernel);

// c (m, n) = a (m, k) x b, all row-major; int8 operands (Keras's range is [-127, 127]; -128 is
// exact too), int32 result.
void int8_gemm(Index m, const int8_t* a, const PackedInt8B& b, int32_t* c);
inline void int8_gemm(Index m, Index n, Index k, const int8_t* a, const int8_t* b, int32_t* c,
                      Int8Kernel kernel) {
  int8_gemm(m, a, pack_int8_b(k, n, b, kernel), c);
}

}  // namespace eigennet
