// Intel AMX: whether this CPU and OS let the core use tiles, and the one tile configuration
// its kernels use: eight tiles of 16 rows x 64 bytes, tiles 0-3 holding 2 x 2 blocks of sums,
// 4-5 two tiles of A, 6-7 two tiles of B.
#pragma once

namespace eigennet {

// The CPU has AMX-TILE and AMX-BF16 (AMX-INT8), the OS saves the tile state, and Linux gave
// this process permission to use it (asked once).
bool amx_bf16_supported();
bool amx_int8_supported();

// Loads the configuration on the calling thread; call only when one of the above is true.
// The products load it before they use tiles (another library may have configured them
// otherwise) and leave the tiles configured: releasing them after each product measured
// 6 % slower for an int8 layer running one product per block of its batch.
void amx_configure_tiles();
// Releases the tiles (the peak loops, which run once).
void amx_release_tiles();

}  // namespace eigennet
