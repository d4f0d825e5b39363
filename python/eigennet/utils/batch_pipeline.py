"""The `tf.data` methods Keras programs call on the data sets Keras's utilities return
(`text_dataset_from_directory(...).map(lambda x, y: x)`, `.cache()`, `.prefetch(...)`,
`.take(1)`), on eigennet's batched `PyDataset`s.

Each method returns a new `PyDataset` over the same batches: `map` applies a function to every
batch as it is read (`fn(x, y)` for a tuple, as `tf.data` unpacks it), `take`/`skip` keep
a range of batches, `shuffle` deals the batches out in a new order every epoch, `cache` keeps
every batch it has produced in memory (later epochs replay them, as `tf.data`'s cache replays
its first pass), and `prefetch` changes nothing: `fit` already reads batches ahead on a
worker thread. `as_numpy_iterator()` iterates the batches.
"""

from __future__ import annotations

import numbers

import numpy as np

from eigennet.utils.py_dataset import PyDataset


def _count(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < -1:
        raise ValueError(f"`{name}` must be an int >= -1 (-1: all). Received: {value!r}")
    return int(value)


class BatchPipeline:
    """The methods; a `PyDataset` subclass mixes them in."""

    def map(self, map_func, num_parallel_calls=None, deterministic=None, name=None):
        if not callable(map_func):
            raise TypeError(f"map: `map_func` must be callable, got {map_func!r}")
        return _Mapped(self, map_func)

    def take(self, count, name=None):
        count = _count(count, "count")
        return _Range(self, 0, len(self) if count == -1 else min(count, len(self)))

    def skip(self, count, name=None):
        count = _count(count, "count")
        return _Range(self, len(self) if count == -1 else min(count, len(self)), len(self))

    def shuffle(self, buffer_size=None, seed=None, reshuffle_each_iteration=True, name=None):
        return _Shuffled(self, seed, reshuffle_each_iteration)

    def cache(self, filename="", name=None):
        if filename:
            raise ValueError("cache: eigennet caches in memory only; pass no filename")
        return _Cached(self)

    def prefetch(self, buffer_size=None, name=None):
        return self

    def as_numpy_iterator(self):
        return (self[i] for i in range(len(self)))

    def cardinality(self) -> int:
        return len(self)


class _Derived(BatchPipeline, PyDataset):
    """A data set over another's batches; epochs begin and end for the source too."""

    def __init__(self, source):
        super().__init__(
            workers=source.workers,
            use_multiprocessing=source.use_multiprocessing,
            max_queue_size=source.max_queue_size,
        )
        self._source = source
        self.class_names = getattr(source, "class_names", None)
        self.file_paths = getattr(source, "file_paths", None)

    def __len__(self):
        return len(self._source)

    def _check(self, index) -> None:
        if not 0 <= index < len(self):
            raise IndexError(f"batch index {index} out of range [0, {len(self)})")

    def on_epoch_begin(self):
        self._source.on_epoch_begin()

    def on_epoch_end(self):
        self._source.on_epoch_end()


class _Mapped(_Derived):
    def __init__(self, source, fn):
        super().__init__(source)
        self._fn = fn

    def __getitem__(self, index):
        self._check(index)
        batch = self._source[index]
        return self._fn(*batch) if isinstance(batch, tuple) else self._fn(batch)


class _Range(_Derived):
    def __init__(self, source, start: int, stop: int):
        super().__init__(source)
        self._start, self._stop = start, max(start, stop)

    def __len__(self):
        return self._stop - self._start

    def __getitem__(self, index):
        self._check(index)
        return self._source[self._start + index]


class _Shuffled(_Derived):
    def __init__(self, source, seed, reshuffle: bool):
        super().__init__(source)
        self._rng = np.random.default_rng(seed)
        self._reshuffle = reshuffle
        self._order = self._rng.permutation(len(source))

    def __getitem__(self, index):
        self._check(index)
        return self._source[int(self._order[index])]

    def on_epoch_end(self):
        super().on_epoch_end()
        if self._reshuffle:
            self._order = self._rng.permutation(len(self._source))


class _Cached(_Derived):
    def __init__(self, source):
        super().__init__(source)
        self._batches: dict[int, object] = {}

    def __getitem__(self, index):
        self._check(index)
        if index not in self._batches:
            self._batches[index] = self._source[index]
        return self._batches[index]

    def on_epoch_end(self):
        """Not passed on: the source keeps the order whose batches the cache holds."""
