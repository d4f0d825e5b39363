// Prints the instruction-set level this CPU runs best ("v4", "v3" or "baseline"): CMake runs it
// at configure time to choose the one core variant a source build compiles.
#include <cstdio>

#include "isa_level.hpp"

int main() {
  std::puts(eigennet_isa::best_level());
  return 0;
}
