#include "eigennet/amx.hpp"

#include <cstdint>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>
#define EIGENNET_AMX_X86 1
#endif

namespace eigennet {
namespace {

#ifdef EIGENNET_AMX_X86
// CPUID.(7, 0):EDX bits 22 (AMX-BF16), 24 (AMX-TILE), 25 (AMX-INT8).
bool cpu_has(unsigned bit) {
  unsigned a, b, c, d;
  return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (d & (1u << 24)) && (d & (1u << bit));
}

// XCR0 bits 17 and 18: the OS saves the tile configuration and data; then Linux's arch_prctl
// grants this process the tile state (for all its threads).
bool tiles_permitted() {
  static const bool permitted = [] {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) return false;  // OSXSAVE
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & (3u << 17)) != (3u << 17)) return false;
    constexpr long kReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
    return syscall(SYS_arch_prctl, kReqXcompPerm, kXfeatureXtiledata) == 0;
  }();
  return permitted;
}

struct alignas(64) TileConfig {
  std::uint8_t palette_id = 1;
  std::uint8_t start_row = 0;
  std::uint8_t reserved[14] = {};
  std::uint16_t colsb[16] = {};
  std::uint8_t rows[16] = {};
};
#endif

}  // namespace

bool amx_bf16_supported() {
#ifdef EIGENNET_AMX_X86
  static const bool supported = cpu_has(22) && tiles_permitted();
  return supported;
#else
  return false;
#endif
}

bool amx_int8_supported() {
#ifdef EIGENNET_AMX_X86
  static const bool supported = cpu_has(25) && tiles_permitted();
  return supported;
#else
  return false;
#endif
}

#ifdef EIGENNET_AMX_X86
__attribute__((target("amx-tile"))) void amx_configure_tiles() {
  TileConfig config;
  for (int t = 0; t < 8; ++t) {
    config.colsb[t] = 64;
    config.rows[t] = 16;
  }
  // GCC's _tile_loadconfig names only the first 8 bytes as its input: without this barrier
  // the stores above may be dropped and the tiles left unconfigured (then #UD).
  __asm__ volatile("" : : "r"(&config) : "memory");
  _tile_loadconfig(&config);
}

__attribute__((target("amx-tile"))) void amx_release_tiles() { _tile_release(); }
#else
void amx_configure_tiles() {}
void amx_release_tiles() {}
#endif

}  // namespace eigennet
