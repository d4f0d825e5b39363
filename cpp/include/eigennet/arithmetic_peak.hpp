// The machine's arithmetic peak, measured: register-only loops of one instruction kind with
// enough independent accumulators to hide its latency, timed on `threads` threads at once.
// The benchmarks quote every workload as a share of the peak of the arithmetic it runs on,
// measured on the machine that ran it.
#pragma once

#include <string>
#include <vector>

namespace eigennet {

// The kinds this CPU runs: "fp32_fma" (AVX-512, else AVX2 FMA), "bf16_dot" (VDPBF16PS),
// "int8_dot" (VPDPBUSD), "amx_bf16" (TDPBF16PS), "amx_int8" (TDPBUSD).
std::vector<std::string> arithmetic_peak_kinds();

// GFLOP/s (GOP/s for int8: a multiply-add counts 2) of `kind` summed over `threads` threads
// running for about `seconds`. Throws std::invalid_argument for a kind this CPU lacks.
double arithmetic_peak(const std::string& kind, int threads, double seconds = 0.2);

}  // namespace eigennet
