// The private extension module eigennet._core (eigennet/_dispatch.py registers the variant chosen
// at import under this name). The binding files only convert types and
// release the GIL around native work; C++ exceptions map to Python ones
// (std::invalid_argument -> ValueError, std::bad_alloc -> MemoryError, ...).
#include <pybind11/pybind11.h>

#include "eigennet/interrupt.hpp"
#include "eigennet/memory.hpp"
#include "eigennet/threading.hpp"

namespace eigennet::bindings {
void bind_functions(pybind11::module_& m);
void bind_metrics(pybind11::module_& m);
void bind_model(pybind11::module_& m);
void bind_basic_layers(pybind11::module_& m);
void bind_conv_layers(pybind11::module_& m);
void bind_more_layers(pybind11::module_& m);
void bind_recurrent_layers(pybind11::module_& m);
void bind_merge_layers(pybind11::module_& m);
void bind_ops(pybind11::module_& m);
void bind_sources(pybind11::module_& m);
void bind_fused_ops(pybind11::module_& m);
void bind_hashing(pybind11::module_& m);
void bind_quantized(pybind11::module_& m);
void bind_bf16(pybind11::module_& m);
}  // namespace eigennet::bindings

// One module per instruction-set variant: CMake defines EIGENNET_MODULE_NAME as _core_<variant>,
// which must match the file name (Python calls PyInit_<file name>).
#ifndef EIGENNET_MODULE_NAME
#error "EIGENNET_MODULE_NAME must be defined (CMakeLists.txt sets _core_<variant>)"
#endif

PYBIND11_MODULE(EIGENNET_MODULE_NAME, m) {
  m.doc() = "eigennet native core (private; use the eigennet package)";
  eigennet::limit_num_threads();
  eigennet::bindings::bind_functions(m);
  eigennet::bindings::bind_metrics(m);
  eigennet::bindings::bind_model(m);
  eigennet::bindings::bind_basic_layers(m);
  eigennet::bindings::bind_conv_layers(m);
  eigennet::bindings::bind_more_layers(m);
  eigennet::bindings::bind_recurrent_layers(m);
  eigennet::bindings::bind_merge_layers(m);
  eigennet::bindings::bind_ops(m);
  eigennet::bindings::bind_sources(m);
  eigennet::bindings::bind_fused_ops(m);
  eigennet::bindings::bind_hashing(m);
  eigennet::bindings::bind_quantized(m);
  eigennet::bindings::bind_bf16(m);
  pybind11::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const eigennet::OutOfMemory& e) {
      PyErr_SetString(PyExc_MemoryError, e.what());
    }
  });
  // Ctrl-C during a native loop: raise the pending KeyboardInterrupt (native code is
  // exception-safe, so the model stays usable; training stops after the current batch).
  eigennet::set_interrupt_hook([] {
    pybind11::gil_scoped_acquire gil;
    if (PyErr_CheckSignals() != 0) throw pybind11::error_already_set();
  });
}
