"""Streamed data under data parallelism, 2 ranks: memmap shards (views of one file), a
PyDataset and a generator per rank, against the same shards in memory."""

import os

import numpy as np
from _common import OUT, data, dist, keras, mlp, save, weights_dict
from mpi4py import MPI

dist.init()
keras.config.set_streaming(chunk_bytes=256)  # many chunks per shard
x, y = data()
if dist.rank() == 0:
    np.save(os.path.join(OUT, "x.npy"), x)
    np.save(os.path.join(OUT, "y.npy"), y)
MPI.COMM_WORLD.Barrier()
xm = np.load(os.path.join(OUT, "x.npy"), mmap_mode="r")
ym = np.load(os.path.join(OUT, "y.npy"), mmap_mode="r")
xs, ys = dist.shard(x, drop_remainder=True), dist.shard(y, drop_remainder=True)


class Shard(keras.utils.PyDataset):
    def __len__(self):
        return len(xs) // 8

    def __getitem__(self, index):
        return xs[index * 8 : (index + 1) * 8], ys[index * 8 : (index + 1) * 8]


def batches():
    while True:
        for index in range(len(xs) // 8):
            yield xs[index * 8 : (index + 1) * 8], ys[index * 8 : (index + 1) * 8]


fit = dict(epochs=3, shuffle=False, verbose=0)
runs = {
    "memory": lambda m: m.fit(xs, ys, batch_size=8, **fit),
    "memmap": lambda m: m.fit(
        dist.shard(xm, drop_remainder=True),
        dist.shard(ym, drop_remainder=True),
        batch_size=8,
        **fit,
    ),
    "pydataset": lambda m: m.fit(Shard(), **fit),
    "generator": lambda m: m.fit(batches(), steps_per_epoch=len(xs) // 8, **fit),
    "shuffled": lambda m: m.fit(
        dist.shard(xm, drop_remainder=True),
        dist.shard(ym, drop_remainder=True),
        batch_size=8,
        epochs=2,
        verbose=0,
    ),
}
for name, run in runs.items():
    model = mlp(dist.DistributedOptimizer(keras.optimizers.Adam(0.01)))
    history = run(model).history
    save(name, **weights_dict(model), loss=np.array(history["loss"]))
