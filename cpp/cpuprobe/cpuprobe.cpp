// eigennet._cpuprobe: which instruction-set level this CPU (and OS) can run (isa_level.hpp).
// Compiled without -march flags, so it runs on every x86-64; eigennet/_dispatch.py asks it before
// importing a core variant (a variant the CPU cannot run would die with SIGILL at import).
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "isa_level.hpp"

namespace {

using eigennet_isa::best_level;

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
