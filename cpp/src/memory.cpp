#include "eigennet/memory.hpp"

#include <unistd.h>

#include <cstdio>

namespace eigennet {
namespace {

double physical_memory_bytes() {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  return pages > 0 && page > 0 ? double(pages) * double(page) : 1e18;
}

std::string gib(double bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g GiB", bytes / (1024.0 * 1024.0 * 1024.0));
  return buf;
}

}  // namespace

void check_allocation(double count, size_t elem_size, const std::string& what) {
  const double bytes = count * double(elem_size), limit = physical_memory_bytes();
  if (count >= 0 && bytes <= limit) return;
  char values[32];
  std::snprintf(values, sizeof values, "%.4g", count);
  throw OutOfMemory(what + " would take " + gib(bytes) + " (" + values +
                    " values) but this machine has " + gib(limit) + " of memory");
}

}  // namespace eigennet
