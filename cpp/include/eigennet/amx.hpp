// Intel AMX: whether this CPU and OS let the core use tiles, and the one tile configuration
// its kernels use: eight tiles of 16 rows x 64 bytes, tiles 0-3 holding 2 x 2 blocks of sums,
// 4-5 two tiles of A, 6-7 two tiles of B.
#pragma once

namespace eigennet {

// The CPU has AMX-TILE and AMX-BF16 (AMX-INT8), the OS saves the tile state, and Linux gave
// this process permission to use it (asked once).
bool amx_bf16_supported();
bool amx_int8_supported();

// Loads the configuration on the calling thread (once per parallel region that uses tiles)
// and releases the tiles afterwards. Call only when one of the above is true.
void amx_configure_tiles();
void amx_release_tiles();

}  // namespace eigennet
