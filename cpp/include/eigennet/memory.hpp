// Allocation guard. A buffer larger than the machine's memory must fail with a clear error
// before it is allocated: under Linux overcommit a huge allocation can succeed and the process
// is then killed while the buffer is zero-filled.
#pragma once

#include <stdexcept>
#include <string>

#include "eigennet/tensor.hpp"

namespace eigennet {

// Raised (and mapped to Python's MemoryError) when a buffer cannot fit in memory.
class OutOfMemory : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Throws OutOfMemory naming `what` when count elements of elem_size bytes overflow or exceed
// the physical memory.
void check_allocation(double count, size_t elem_size, const std::string& what);

}  // namespace eigennet
