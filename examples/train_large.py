"""Training on a data set larger than you want in memory: eigennet streams it from disk.

The first run writes a synthetic classification data set (x: float32 features, y: integer
labels of a hidden linear rule, as .npy files) block by block, so writing it never needs the
memory either. Every run then opens it with ``np.load(..., mmap_mode="r")`` and trains:
``fit`` reads it in chunks in a background thread while the core trains, shuffled chunk by
chunk, and never loads it whole. It prints the throughput and the peak memory of training.

    python examples/train_large.py                    # 2 GB in /tmp/eigennet-train-large
    python examples/train_large.py --gb 8 --epochs 2  # bigger; written once, then reused
    python examples/train_large.py --gb 0.05 --dir /tmp/small --verbose 2

``--shard I/N`` trains on the I-th of N contiguous slices of the data (views of the
memmaps, streamed like the whole). ``--distributed`` trains data-parallel over MPI (needs
``pip install "eigennet[mpi]"``): every rank streams its own shard, gradients are averaged
every step, and rank 0 prints:

    python examples/train_large.py --gb 2                      # write the data once
    mpiexec -n 2 python examples/train_large.py --distributed  # then train on 2 processes
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time

import numpy as np

import eigennet as keras

FEATURES, CLASSES = 256, 10


def write_dataset(directory: str, gb: float, seed: int = 0) -> None:
    """Writes x.npy and y.npy (about `gb` GB) unless they are already there."""
    rows = int(gb * 1e9 / (FEATURES * 4 + 8))
    meta_path = os.path.join(directory, "meta.json")
    meta = {"rows": rows, "features": FEATURES, "classes": CLASSES, "seed": seed}
    if os.path.exists(meta_path):
        with open(meta_path) as f:
            if json.load(f) == meta:
                return
    os.makedirs(directory, exist_ok=True)
    print(f"Writing {rows} samples ({rows * (FEATURES * 4 + 8) / 1e9:.2f} GB) to {directory}")
    rng = np.random.default_rng(seed)
    rule = rng.standard_normal((FEATURES, CLASSES)).astype("float32")
    with open(os.path.join(directory, "x.npy"), "wb") as fx:
        with open(os.path.join(directory, "y.npy"), "wb") as fy:
            header = {"descr": "<f4", "fortran_order": False, "shape": (rows, FEATURES)}
            np.lib.format.write_array_header_1_0(fx, header)
            header = {"descr": "<i8", "fortran_order": False, "shape": (rows,)}
            np.lib.format.write_array_header_1_0(fy, header)
            for start in range(0, rows, 65536):
                x = rng.standard_normal((min(65536, rows - start), FEATURES), dtype="float32")
                x.tofile(fx)
                np.argmax(x @ rule, axis=1).astype("<i8").tofile(fy)
    with open(meta_path, "w") as f:
        json.dump(meta, f)  # written last: its presence means the data set is complete


def open_dataset(directory: str):
    x = np.load(os.path.join(directory, "x.npy"), mmap_mode="r")
    y = np.load(os.path.join(directory, "y.npy"), mmap_mode="r")
    return x, y


def local_part(x, y, shard: str | None):
    """This process's part of the data: all of it, or with --shard I/N the I-th of N
    contiguous slices (views of the memmaps, so nothing is read here)."""
    if not shard:
        return x, y
    index, count = (int(v) for v in shard.split("/"))
    if not 0 <= index < count:
        raise SystemExit(f"--shard {shard}: expected I/N with 0 <= I < N")
    bounds = np.linspace(0, len(x), count + 1).astype(int)
    part = slice(bounds[index], bounds[index + 1])
    return x[part], y[part]


def build_model(distributed: bool = False):
    optimizer = keras.optimizers.Adam(learning_rate=1e-3)
    if distributed:
        import eigennet.distributed as dist

        optimizer = dist.DistributedOptimizer(optimizer)
    model = keras.Sequential(
        [
            keras.Input(shape=(FEATURES,)),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(CLASSES, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=optimizer,
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


class PeakMemory:
    """Samples the process's anonymous memory (RssAnon) and resident set every 10 ms."""

    def __init__(self):
        self.anon = self.rss = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def read(key: str) -> int:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
        return 0

    def _run(self):
        while not self._done.is_set():
            self.anon = max(self.anon, self.read("RssAnon"))
            self.rss = max(self.rss, self.read("VmRSS"))
            time.sleep(0.01)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._done.set()
        self._thread.join()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gb", type=float, default=2.0, help="data set size (default 2 GB)")
    parser.add_argument("--dir", default="/tmp/eigennet-train-large", help="where it lives")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2))
    parser.add_argument("--shard", default=None, help="I/N: train on the I-th of N slices")
    parser.add_argument("--distributed", action="store_true", help="data-parallel over MPI")
    args = parser.parse_args(argv)

    callbacks, primary = [], True
    if args.distributed:
        from mpi4py import MPI

        import eigennet.distributed as dist

        dist.init()
        primary = dist.is_primary()
        if primary:
            write_dataset(args.dir, args.gb)
        MPI.COMM_WORLD.Barrier()  # the data set exists before any rank opens it
        # Equal shards (views of the memmaps): every rank runs the same number of steps.
        x, y = (dist.shard(a, drop_remainder=True) for a in open_dataset(args.dir))
        # Epoch logs averaged over the ranks; rank 0's initial weights everywhere.
        callbacks = [dist.MetricAverage(), dist.BroadcastInitialState()]
    else:
        write_dataset(args.dir, args.gb)
        x, y = local_part(*open_dataset(args.dir), args.shard)
    keras.utils.set_random_seed(0)
    model = build_model(args.distributed)
    size_gb = (x.nbytes + y.nbytes) / 1e9
    if primary:
        print(f"Training on {len(x)} samples ({size_gb:.2f} GB on disk, memory-mapped)")
    before = PeakMemory.read("RssAnon")
    start = time.perf_counter()
    with PeakMemory() as peak:
        history = model.fit(
            x,
            y,
            batch_size=args.batch_size,
            epochs=args.epochs,
            validation_split=0.02,
            verbose=args.verbose if primary else 0,
            callbacks=callbacks,
        )
    seconds = time.perf_counter() - start
    if not primary:
        return
    rate = len(x) * args.epochs / seconds
    print(f"throughput: {rate:.0f} samples/s ({rate * x[0].nbytes / 1e6:.0f} MB/s of x)", end="")
    print(" per process" if args.distributed else "")
    print(
        f"peak memory: anonymous {peak.anon / 2**20:.0f} MiB (+{(peak.anon - before) / 2**20:.0f}"
        f" MiB during fit), resident {peak.rss / 2**20:.0f} MiB, data {size_gb * 1e3:.0f} MB"
    )
    print(f"val_accuracy: {history.history['val_accuracy'][-1]:.4f}")


if __name__ == "__main__":
    main()
