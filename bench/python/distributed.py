#!/usr/bin/env python
"""Data-parallel figures for the README and docs/distributed.md (needs the `mpi` extra).

Run it plainly; it launches its own workers, in one run, interleaved (A, B, C, A, B, C, ...)
so that host drift hits every configuration alike:

    python bench/python/distributed.py                 # W3, 3 repeats
    python bench/python/distributed.py --quick         # 6000 samples, 1 repeat (smoke run)
    python bench/python/distributed.py --json out.json

Configurations, all W3 (workloads.md: 784-256-256-10, Adam(1e-3), sparse CCE, 60000 samples,
global batch 128, 1 epoch, shuffled), timed after a warm-up covering the full and the last
partial batch shape:

    A  1 process  x 2 threads   (plain eigennet)
    B  2 processes x 1 thread   (mpiexec -n 2; each rank half of the data, batch 64,
                                 DistributedOptimizer: the same number of steps as A)
    C  1 process  x 1 thread    (the compute of one rank in B, on the whole data)

Also measured under mpiexec -n 2: MPI_Allreduce in place of float32 buffers (W3's gradient
buffer, 269,322 values, and 1e6 values) after a barrier, median of many, and the time the
gradient hook spends per training step in B (allreduce + 1/size scaling + waiting for the
slower rank).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.abspath(__file__)
W3_LAYERS = (784, 256, 256, 10)
W3_PARAMS = sum(a * b + b for a, b in zip(W3_LAYERS[:-1], W3_LAYERS[1:]))  # 269,322
GLOBAL_BATCH = 128


# --------------------------------------------------------------------------------------------
# Workers (one process, or one rank of mpiexec)
# --------------------------------------------------------------------------------------------
def w3_model(keras, optimizer):
    layers = keras.layers
    model = keras.Sequential(
        [
            keras.Input(shape=(W3_LAYERS[0],)),
            layers.Dense(W3_LAYERS[1], activation="relu"),
            layers.Dense(W3_LAYERS[2], activation="relu"),
            layers.Dense(W3_LAYERS[3], activation="softmax"),
        ]
    )
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    return model


def worker_fit(args) -> None:
    import numpy as np

    import eigennet as keras

    keras.config.set_num_threads(args.threads)
    keras.utils.set_random_seed(0)
    x_all = np.load(os.path.join(args.data, "x.npy"), mmap_mode="r")
    y_all = np.load(os.path.join(args.data, "y.npy"), mmap_mode="r")
    optimizer = keras.optimizers.Adam(1e-3)
    comm, ranks = None, 1
    if args.mpi:
        import eigennet.distributed as dist

        dist.init()  # keeps the thread count set above (user settings win)
        comm, ranks = dist._comm.communicator(), dist.size()
        optimizer = dist.DistributedOptimizer(optimizer)
        x_all, y_all = dist.shard(x_all, drop_remainder=True), dist.shard(y_all, True)
    x, y = np.array(x_all), np.array(y_all)  # in memory, as W3 is defined
    batch = GLOBAL_BATCH // ranks
    model = w3_model(keras, optimizer)
    warm = batch + (len(x) % batch)  # the full and the last partial batch shapes
    model.fit(x[:warm], y[:warm], batch_size=batch, epochs=1, verbose=0)
    averager = getattr(optimizer, "_averager", None)
    if averager is not None:
        averager.seconds, averager.steps = 0.0, 0
        comm.Barrier()
    start = time.perf_counter()
    model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
    elapsed = time.perf_counter() - start
    steps = -(-len(x) // batch)
    result = {"threads": keras.config.get_num_threads(), "ranks": ranks, "steps": steps}
    if comm is not None:
        from mpi4py import MPI

        elapsed = comm.allreduce(elapsed, op=MPI.MAX)
        result["hook_ms_per_step"] = 1e3 * averager.seconds / max(averager.steps, 1)
        result["hook_steps"] = averager.steps
        if comm.Get_rank() != 0:
            return
    result["seconds"] = elapsed
    result["samples_per_s"] = len(x) * ranks / elapsed
    print("RESULT " + json.dumps(result), flush=True)


def worker_allreduce(args) -> None:
    import numpy as np
    from mpi4py import MPI

    import eigennet.distributed as dist

    dist.init()
    comm = dist._comm.communicator()
    out = {}
    for n in (W3_PARAMS, 1_000_000):
        buf = np.ones(n, dtype=np.float32)
        times, scale = [], []
        for i in range(args.allreduce_reps + 10):
            comm.Barrier()
            t0 = time.perf_counter()
            comm.Allreduce(MPI.IN_PLACE, buf, op=MPI.SUM)
            t1 = time.perf_counter()
            np.divide(buf, comm.Get_size(), out=buf)
            t2 = time.perf_counter()
            if i >= 10:
                times.append(t1 - t0)
                scale.append(t2 - t1)
        out[str(n)] = {
            "allreduce_ms": comm.allreduce(statistics.median(times) * 1e3, op=MPI.MAX),
            "allreduce_min_ms": comm.allreduce(min(times) * 1e3, op=MPI.MAX),
            "scale_ms": statistics.median(scale) * 1e3,
        }
    if comm.Get_rank() == 0:
        print("RESULT " + json.dumps(out), flush=True)


# --------------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------------
def run(cmd, timeout: float) -> dict:
    env = {**os.environ}
    env.pop("OMP_NUM_THREADS", None)  # the workers pin their threads themselves
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT ") :])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--n", type=int, default=60000, help="W3 samples (default 60000)")
    p.add_argument("--quick", action="store_true", help="6000 samples, 1 repeat")
    p.add_argument("--json", default=None, help="also write the results here")
    p.add_argument("--mpiexec", default="mpiexec")
    p.add_argument("--allreduce-reps", type=int, default=200)
    p.add_argument("--worker", choices=("fit", "allreduce"), help=argparse.SUPPRESS)
    p.add_argument("--mpi", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    p.add_argument("--data", default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker == "fit":
        return worker_fit(args)
    if args.worker == "allreduce":
        return worker_allreduce(args)
    if args.quick:
        args.n, args.repeats, args.allreduce_reps = 6000, 1, 50

    import numpy as np

    configs = {
        "A: 1 process x 2 threads": [sys.executable, HERE, "--worker", "fit", "--threads", "2"],
        "B: 2 processes x 1 thread": [
            args.mpiexec,
            "-n",
            "2",
            sys.executable,
            HERE,
            "--worker",
            "fit",
            "--mpi",
            "--threads",
            "1",
        ],
        "C: 1 process x 1 thread": [sys.executable, HERE, "--worker", "fit", "--threads", "1"],
    }
    results: dict = {name: [] for name in configs}
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="eigennet-dist-bench-") as data:
        rs = np.random.RandomState(0)  # workloads.md: identical data for every configuration
        np.save(os.path.join(data, "x.npy"), rs.standard_normal((args.n, 784)).astype(np.float32))
        np.save(os.path.join(data, "y.npy"), rs.randint(0, 10, size=args.n).astype(np.int64))
        for _ in range(args.repeats):
            for name, cmd in configs.items():
                results[name].append(run([*cmd, "--data", data], timeout=1800))
        allreduce = run(
            [
                args.mpiexec,
                "-n",
                "2",
                sys.executable,
                HERE,
                "--worker",
                "allreduce",
                "--allreduce-reps",
                str(args.allreduce_reps),
            ],
            timeout=600,
        )
    load_after = os.getloadavg()

    print(
        f"W3, {args.n} samples, global batch {GLOBAL_BATCH}, 1 epoch; median of "
        f"{args.repeats} interleaved repeats; load average {load_before[0]:.1f} before, "
        f"{load_after[0]:.1f} after\n"
    )
    print("| configuration | samples/s, median | best | all repeats | hook per step, median |")
    print("|---|---|---|---|---|")
    base = None
    for name, runs in results.items():
        rates = [r["samples_per_s"] for r in runs]
        med = statistics.median(rates)
        base = base or med
        hook = [r["hook_ms_per_step"] for r in runs if "hook_ms_per_step" in r]
        hook_text = f"{statistics.median(hook):.2f} ms" if hook else "—"
        print(
            f"| {name} | {med / 1e3:.1f}k ({med / base:.2f}× A) | {max(rates) / 1e3:.1f}k | "
            f"{', '.join(f'{r / 1e3:.1f}k' for r in rates)} | {hook_text} |"
        )
    print("\n| MPI_Allreduce in place, float32, 2 ranks | median | fastest | 1/size scaling |")
    print("|---|---|---|---|")
    for n, r in allreduce.items():
        print(
            f"| {int(n):,} values | {r['allreduce_ms']:.3f} ms | {r['allreduce_min_ms']:.3f} ms "
            f"| {r['scale_ms']:.3f} ms |"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {
                    "n": args.n,
                    "fit": results,
                    "allreduce": allreduce,
                    "loadavg": [load_before, load_after],
                },
                f,
                indent=1,
            )


if __name__ == "__main__":
    main()
