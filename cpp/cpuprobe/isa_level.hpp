// Which instruction-set level of the core this CPU (and OS) can run: "v4", "v3" or "baseline".
// Compiled without -march flags, so it runs on every x86-64. One definition for the Python probe
// (cpuprobe.cpp, asked at import) and the configure-time probe (isa_level_main.cpp, which picks
// the one variant a source build compiles).
// __builtin_cpu_supports also checks that the OS saves the AVX / AVX-512 register state (XGETBV),
// so a CPU with AVX-512 under an OS that disabled it reports v3.
#pragma once

namespace eigennet_isa {

#if defined(__x86_64__) || defined(__i386__)
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12 && !defined(EIGENNET_PROBE_FEATURES)
// GCC 12 knows the levels themselves: the same definitions as -march=x86-64-v3 / -v4.
inline bool has_v3() { return __builtin_cpu_supports("x86-64-v3"); }
inline bool has_v4() { return __builtin_cpu_supports("x86-64-v4"); }
#else
// Other compilers: the features of each level, as in the x86-64 psABI.
inline bool has_v3() {
  return __builtin_cpu_supports("popcnt") && __builtin_cpu_supports("sse3") &&
         __builtin_cpu_supports("ssse3") && __builtin_cpu_supports("sse4.1") &&
         __builtin_cpu_supports("sse4.2") && __builtin_cpu_supports("avx") &&
         __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
         __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2") &&
         __builtin_cpu_supports("f16c") && __builtin_cpu_supports("movbe") &&
         __builtin_cpu_supports("lzcnt");
}
inline bool has_v4() {
  return has_v3() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512dq") &&
         __builtin_cpu_supports("avx512vl");
}
#endif

inline const char* best_level() {
  __builtin_cpu_init();  // a shared library cannot rely on libgcc's constructor having run
  if (has_v4()) return "v4";
  if (has_v3()) return "v3";
  return "baseline";
}
#else
inline const char* best_level() { return "baseline"; }  // not x86: only the generic variant exists
#endif

}  // namespace eigennet_isa
