"""The batches `adapt()` reads, shared by the preprocessing layers that learn from data
(Discretization, the lookup layers, TextVectorization).

Keras's rule: an array (or list) is one batch; a `utils.PyDataset` or any other iterable
yields batches (an `(x, y, ...)` tuple gives its `x`), the first `steps` of them when given.
A memory-mapped array is read in chunks of about `config.get_streaming()["chunk_bytes"]`,
never whole.
"""

from __future__ import annotations

import itertools
import math

import numpy as np


def _first(batch):
    return batch[0] if isinstance(batch, tuple) else batch


def check_steps(layer: str, steps):
    if steps is not None and (
        isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1
    ):
        raise ValueError(
            f"{layer}.adapt: `steps` must be a positive int or None. Received: {steps!r}"
        )
    return steps


def batches(layer: str, data, steps=None):
    """The batches of `data` for `layer`'s adapt() (see the module docstring)."""
    from eigennet import config
    from eigennet.utils.py_dataset import PyDataset

    check_steps(layer, steps)
    if isinstance(data, np.memmap) and data.ndim > 0:
        sample_bytes = max(1, data.itemsize * math.prod(data.shape[1:]))
        rows = max(1, config.get_streaming()["chunk_bytes"] // sample_bytes)
        return (np.asarray(data[i : i + rows]) for i in range(0, len(data), rows))
    if isinstance(data, (np.ndarray, list, tuple, str, bytes, np.generic)) or np.isscalar(data):
        return iter([data])
    if isinstance(data, PyDataset):
        count = data.num_batches if steps is None else steps
        if count is None:
            raise ValueError(
                f"{layer}.adapt: an endless PyDataset (num_batches None) needs `steps`"
            )
        return (_first(data[i]) for i in range(count))
    if hasattr(data, "__iter__") and not isinstance(data, dict):
        out = (_first(b) for b in data)
        return itertools.islice(out, steps) if steps is not None else out
    raise TypeError(
        f"{layer}.adapt: unsupported data type {type(data).__name__}. `adapt` supports arrays, "
        "lists, `keras.utils.PyDataset`s and iterables of batches."
    )
