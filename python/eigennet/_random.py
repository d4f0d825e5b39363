"""The global seed stream: `eigennet.utils.set_random_seed` resets it; unseeded
initializers, dropout and shuffling draw their seeds from it."""

from __future__ import annotations

import random

import numpy as np

_generator = np.random.default_rng()


def set_seed(seed: int) -> None:
    global _generator
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    _generator = np.random.default_rng(int(seed))
    random.seed(int(seed))
    np.random.seed(int(seed) % 2**32)


def next_seed() -> int:
    """A fresh 63-bit seed from the global stream."""
    return int(_generator.integers(1, 2**63 - 1))


def generator(seed: int | None = None) -> np.random.Generator:
    """A generator for one consumer: from `seed` if given, else from the global stream."""
    return np.random.default_rng(next_seed() if seed is None else seed)
