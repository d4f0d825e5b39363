// eigennet._cpuprobe: which instruction-set level this CPU (and OS) can run. Compiled without
// -march flags, so it runs on every x86-64; eigennet/_dispatch.py asks it before importing a
// core variant (a variant the CPU cannot run would die with SIGILL at import).
// __builtin_cpu_supports also checks that the OS saves the AVX / AVX-512 register state (XGETBV),
// so a CPU with AVX-512 under an OS that disabled it reports v3.
#define PY_SSIZE_T_CLEAN
#include <Python.h>

namespace {

#if defined(__x86_64__) || defined(__i386__)
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12 && !defined(EIGENNET_PROBE_FEATURES)
// GCC 12 knows the levels themselves: the same definitions as -march=x86-64-v3 / -v4.
bool has_v3() { return __builtin_cpu_supports("x86-64-v3"); }
bool has_v4() { return __builtin_cpu_supports("x86-64-v4"); }
#else
// Other compilers: the features of each level, as in the x86-64 psABI.
bool has_v3() {
  return __builtin_cpu_supports("popcnt") && __builtin_cpu_supports("sse3") &&
         __builtin_cpu_supports("ssse3") && __builtin_cpu_supports("sse4.1") &&
         __builtin_cpu_supports("sse4.2") && __builtin_cpu_supports("avx") &&
         __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
         __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2") &&
         __builtin_cpu_supports("f16c") && __builtin_cpu_supports("movbe") &&
         __builtin_cpu_supports("lzcnt");
}
bool has_v4() {
  return has_v3() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512dq") &&
         __builtin_cpu_supports("avx512vl");
}
#endif

const char* best_level() {
  __builtin_cpu_init();  // a shared library cannot rely on libgcc's constructor having run
  if (has_v4()) return "v4";
  if (has_v3()) return "v3";
  return "baseline";
}
#else
const char* best_level() { return "baseline"; }  // not x86: only the generic variant exists
#endif

PyObject* py_best_level(PyObject*, PyObject*) { return PyUnicode_FromString(best_level()); }

PyMethodDef methods[] = {
    {"best_level", py_best_level, METH_NOARGS,
     "The most capable core variant this CPU and OS can run: 'v4', 'v3' or 'baseline'."},
    {nullptr, nullptr, 0, nullptr}};

PyModuleDef module = {PyModuleDef_HEAD_INIT,
                      "_cpuprobe",
                      "Instruction-set probe of eigennet (private)",
                      -1,
                      methods,
                      nullptr,
                      nullptr,
                      nullptr,
                      nullptr};

}  // namespace

PyMODINIT_FUNC PyInit__cpuprobe() { return PyModule_Create(&module); }
