"""Eager keras.ops on NumPy arrays against the NumPy expressions they stand for.

Issue 14's goal: eager ops within 2x of NumPy. Each op runs on the same arrays as its NumPy
equivalent, interleaved, median of repeats; the ratio is eigennet time / NumPy time (< 2 meets
the goal). Small arrays show the per-call overhead of the ops' dispatch, larger ones the
arithmetic.

    python bench/python/eager_ops.py            # sizes 64 and 512
    python bench/python/eager_ops.py --quick    # CI smoke run
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import numpy as np


def cases(ops, n: int):
    rs = np.random.RandomState(0)
    a = rs.standard_normal((n, n)).astype(np.float32)
    b = rs.standard_normal((n, n)).astype(np.float32)
    v = rs.standard_normal((n,)).astype(np.float32)

    def softmax(x):
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)

    return [
        ("add (bias)", lambda: ops.add(a, v), lambda: np.add(a, v)),
        ("multiply", lambda: ops.multiply(a, b), lambda: np.multiply(a, b)),
        ("exp", lambda: ops.exp(a), lambda: np.exp(a)),
        ("relu", lambda: ops.relu(a), lambda: np.maximum(a, 0)),
        ("mean axis=-1", lambda: ops.mean(a, axis=-1), lambda: np.mean(a, axis=-1)),
        ("softmax", lambda: ops.softmax(a), lambda: softmax(a)),
        ("matmul", lambda: ops.matmul(a, b), lambda: np.matmul(a, b)),
        ("transpose", lambda: ops.transpose(a), lambda: np.transpose(a)),
        ("reshape", lambda: ops.reshape(a, (-1,)), lambda: np.reshape(a, (-1,))),
        (
            "concatenate",
            lambda: ops.concatenate([a, b], axis=-1),
            lambda: np.concatenate([a, b], -1),
        ),
        ("where", lambda: ops.where(a > 0, a, b), lambda: np.where(a > 0, a, b)),
    ]


def cpu_name() -> str:
    """The CPU's model name (figures are reported with the CPU they were measured on)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def timed(fn, calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="64,512")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    import eigennet as keras

    sizes = [64] if args.quick else [int(s) for s in args.sizes.split(",")]
    repeats = 2 if args.quick else args.repeats
    print(f"CPU: {cpu_name()}; eager keras.ops / NumPy time")
    print("| op | n | eigennet µs | NumPy µs | ratio |\n|---|---|---|---|---|")
    worst = 0.0
    for n in sizes:
        calls = max(10, int(2e6 // (n * n)))
        for name, ours, theirs in cases(keras.ops, n):
            ours(), theirs()
            mine, ref = [], []
            for _ in range(repeats):
                mine.append(timed(ours, calls))
                ref.append(timed(theirs, calls))
            m, r = statistics.median(mine), statistics.median(ref)
            worst = max(worst, m / r)
            print(f"| {name} | {n} | {m * 1e6:.1f} | {r * 1e6:.1f} | {m / r:.2f} |")
    print(f"\nworst ratio {worst:.2f} (goal < 2)")


if __name__ == "__main__":
    main()
