"""rank/size, shard views (arrays and memmaps), and each rank's default thread count."""

import os
import sys

import numpy as np

if "--user-threads" in sys.argv:
    import eigennet

    eigennet.config.set_num_threads(2)

from _common import OUT, dist, keras, save  # noqa: E402

dist.init()
rank, ranks = dist.rank(), dist.size()
a = np.arange(10 * 3, dtype=np.float32).reshape(10, 3)
s = dist.shard(a)
path = os.path.join(OUT, f"data.rank{rank}.bin")
mm = np.memmap(path, dtype=np.float32, mode="w+", shape=(11, 2))
mm[:] = np.arange(22).reshape(11, 2)
ms = dist.shard(mm)
md = dist.shard(mm, drop_remainder=True)
try:
    dist.shard(a[:1])
    few = None
except ValueError as error:
    few = str(error)
save(
    "api",
    rank=rank,
    size=ranks,
    primary=dist.is_primary(),
    shard_rows=s[:, 0].tolist(),
    shard_is_view=bool(np.shares_memory(s, a)),
    memmap_rows=ms[:, 0].tolist(),
    memmap_is_memmap=isinstance(ms, np.memmap),
    memmap_is_view=bool(np.shares_memory(ms, mm)),
    dropped_rows=md[:, 0].tolist(),
    too_few=few,
    threads=keras.config.get_num_threads(),
)
