// String hashing for the Hashing layer: fixed-width byte rows (a NumPy "S" array seen as
// uint8) and their lengths in, one uint64 hash per string out.
#include <pybind11/stl.h>

#include <stdexcept>

#include "arrays.hpp"
#include "eigennet/string_hash.hpp"

namespace eigennet::bindings {

void bind_hashing(py::module_& m) {
  m.def(
      "hash_strings",
      [](const py::array_t<std::uint8_t, py::array::c_style>& rows,
         const py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>& lengths,
         py::object key) {
        if (rows.ndim() != 2) throw std::invalid_argument("hash_strings: rows must be 2-D");
        const auto count = static_cast<std::size_t>(rows.shape(0));
        const auto width = static_cast<std::size_t>(rows.shape(1));
        if (lengths.ndim() != 1 || static_cast<std::size_t>(lengths.shape(0)) != count)
          throw std::invalid_argument("hash_strings: one length per row is needed");
        const std::int64_t* n = lengths.data();
        for (std::size_t i = 0; i < count; ++i)
          if (n[i] < 0 || static_cast<std::size_t>(n[i]) > width)
            throw std::invalid_argument("hash_strings: a length exceeds the row width");
        const bool keyed = !key.is_none();
        std::uint64_t key0 = 0, key1 = 0;
        if (keyed) {
          auto pair = key.cast<std::pair<std::uint64_t, std::uint64_t>>();
          key0 = pair.first;
          key1 = pair.second;
        }
        py::array_t<std::uint64_t> out(static_cast<py::ssize_t>(count));
        const char* data = reinterpret_cast<const char*>(rows.data());
        std::uint64_t* result = out.mutable_data();
        {
          py::gil_scoped_release release;
          hash_strings(data, width, n, count, keyed, key0, key1, result);
        }
        return out;
      },
      py::arg("rows"), py::arg("lengths"), py::arg("key") = py::none());
}

}  // namespace eigennet::bindings
