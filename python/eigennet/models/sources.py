"""Sources of streamed data: memory-mapped arrays read chunk by chunk, PyDatasets and
generators read batch by batch.

Every epoch a source yields `Piece`s, each the arguments of one native `run_chunk` call,
prepared ahead of training by a background thread (`prefetch.Prefetcher`): read, converted
to the model's dtype and checked (NaN/inf, label ranges) there, while the core computes.
Rows of a mapping already in the model's dtype are not copied: the piece's x is then the list
of the window's chunks as views of the mapping (`run_chunk_blocks`), and the core gathers
each batch's rows from them.

Shuffling of memory-mapped arrays is chunk-wise: each epoch the order of the chunks is
shuffled (seeded from the fit seed and the epoch), consecutive chunks of that order are
grouped into windows of `shuffle_window` chunks (the first window of an epoch is one chunk,
so training starts after one read), and the core shuffles the rows within each window.
Chunks hold whole batches, so with shuffle=False the batches are exactly those of the same
array in memory and training is bit-for-bit the same.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from eigennet import _core, config
from eigennet.layers import variable_axes
from eigennet.models import data as data_utils
from eigennet.models.prefetch import BufferPool, Prefetcher
from eigennet.models.stream_io import RowReader
from eigennet.utils.py_dataset import BatchFetcher, call_getitem, checked_num_batches

# The shuffled order of a PyDataset's batches holds one int64 per batch (1 GiB at most).
MAX_SHUFFLED_BATCHES = 2**27

RAN_OUT_MESSAGE = (
    "Your input ran out of data; interrupting training. Make sure that your dataset or "
    "generator can generate at least `steps_per_epoch * epochs` batches. You may need to "
    "use the `.repeat()` function when building your dataset."
)


@dataclass
class Piece:
    """Arrays for one `run_chunk` call; `release()` gives the buffers back."""

    x: np.ndarray | list  # a list: blocks of rows used in place, gathered by the core
    y: np.ndarray | None
    sample_weight: np.ndarray | None
    batch_size: int
    batches: int
    shuffle: bool = False
    seed: int = 0
    start: int = 0  # first row (array sources, no shuffle)
    release: Any = None
    samples: Any = None  # the sample shapes of its inputs, when they may vary per batch

    def done(self) -> None:
        if self.release is not None:
            self.release()
            self.release = None


def _sparse(model) -> bool:
    spec = model._loss_spec
    return spec is not None and spec.name == "sparse_categorical_crossentropy"


def _rows_error(what: str, start: int, stop: int, detail: str) -> ValueError:
    return ValueError(f"{what} {detail} in rows [{start}, {stop}) of the streamed data")


def _check_finite_rows(a: np.ndarray, what: str, start: int, stop: int, first=None) -> None:
    """Raises naming the rows [start, stop) when `a` (rows from `first`, default start)
    holds NaN or inf."""
    bad = _core.first_non_finite(a.reshape(-1))
    if bad >= 0:
        row = (start if first is None else first) + bad // max(1, a.shape[1] if a.ndim > 1 else 1)
        raise ValueError(
            f"{what} contains NaN or inf in rows [{start}, {stop}) of the streamed data "
            f"(first at row {row}); clean or impute the data before training"
        )


# -- arrays in memory: one piece per epoch -------------------------------------------------
class MemorySource:
    """Arrays in memory (one input or several, as a list or dict), converted and checked once
    by `Model._prepare`. Each epoch is one native call over the whole set, shuffled by the
    core; fit's fast path runs every epoch in one call."""

    ran_out = False

    def __init__(
        self,
        model,
        x,
        y=None,
        sample_weight=None,
        batch_size: int = 32,
        class_weight=None,
        shuffle: bool = False,
        what: str = "x",
        predict: bool = False,
    ):
        if not predict and y is None:
            raise ValueError("fit() and evaluate() need targets y")
        self.x, self.y, self.sample_weight = model._prepare(
            x,
            None if predict else y,
            None if predict else sample_weight,
            what=what,
            for_predict=predict,
        )
        if not predict:
            self.sample_weight = model._apply_class_weight(class_weight, self.y, self.sample_weight)
        self.y_example = y
        self.samples = model._input_samples(x, what)  # (the model runs them: see _switch)
        self.what = what
        self.n, self.batch_size, self.shuffle = len(self.x), batch_size, bool(shuffle)
        self.steps = math.ceil(self.n / batch_size)

    def has_data(self) -> bool:
        return True

    def run(self, trainer, learn: bool, epoch: int, seed: int, on_batch, report_every) -> None:
        """One epoch of training, or one evaluation pass."""
        if learn:
            trainer.fit(
                self.x, self.y, self.sample_weight, self.batch_size, epoch, epoch + 1,
                self.shuffle, seed, None, on_batch, report_every,
            )  # fmt: skip
        else:
            trainer.evaluate(
                self.x, self.y, self.sample_weight, self.batch_size, on_batch, report_every
            )

    def end_epoch(self) -> None:
        pass

    def close(self) -> None:
        pass


# -- memory-mapped arrays, read in chunks -------------------------------------------------
class ArraySource:
    """x, y and sample_weight arrays (any of them memory-mapped) streamed in chunks of whole
    batches. Nothing is read here but the shapes."""

    ran_out = False  # arrays never run out

    def __init__(
        self,
        model,
        x,
        y=None,
        sample_weight=None,
        batch_size: int = 32,
        class_weight=None,
        shuffle: bool = False,
        what: str = "x",
        predict: bool = False,
    ):
        # validation_batch_size reaches here as batch_size (fit checked its own).
        batch_size = data_utils.positive_int(
            batch_size, "validation_batch_size" if what.startswith("validation") else "batch_size"
        )
        x = self._array(x, what)
        if x.ndim < 2:
            raise ValueError(
                f"{what} must have a batch axis and a feature axis (rank >= 2), got shape "
                f"{x.shape}; for one feature per sample use x.reshape(-1, 1)"
            )
        if x.shape[0] == 0:
            raise ValueError(f"{what} is empty (0 samples)")
        if x.size == 0:
            raise ValueError(f"{what} has samples with no features (shape {x.shape})")
        if not model.built:
            model.build((None, *x.shape[1:]))
        if not variable_axes.compatible(x.shape[1:], model.input_shape[1:]):
            raise ValueError(
                f"Model {model.name!r} expects inputs of shape {model.input_shape}, got "
                f"{(None, *x.shape[1:])}"
            )
        model._use_input_shapes([x.shape[1:]])
        self.samples = [x.shape[1:]]
        self.model, self.what, self.n = model, what, len(x)
        self.y_what = what[:-1] + "y"  # "x" -> "y", "validation x" -> "validation y"
        self.batch_size, self.shuffle = batch_size, bool(shuffle)
        self.class_weight = data_utils.as_class_weight(class_weight)
        self.dtype = np.dtype(model._native_dtype)
        self.y_example = None
        if not predict:
            if y is None:
                raise ValueError("fit() and evaluate() need targets y")
            y = self._array(y, self.y_what)
            self._check_targets(y)
            self.y_example = y
        if sample_weight is not None:
            sample_weight = self._array(sample_weight, "sample_weight")
            if sample_weight.size != self.n or sample_weight.ndim > 2:
                raise ValueError(
                    f"sample_weight must hold one weight per sample ({self.n}), got shape "
                    f"{sample_weight.shape}"
                )
            sample_weight = sample_weight.reshape(self.n)
        settings = config.get_streaming()
        row_bytes = self.dtype.itemsize * (x[0].size + (0 if y is None else max(1, y[0].size)) + 1)
        per_chunk = max(1, settings["chunk_bytes"] // (row_bytes * batch_size))
        self.chunk_rows = per_chunk * batch_size
        self._read_rows = max(1, 2**20 // (self.dtype.itemsize * x[0].size))  # ~1 MiB reads
        self.window = settings["shuffle_window"] if self.shuffle else 1
        capacity = min(self.n, self.chunk_rows * self.window)
        self.steps = math.ceil(self.n / batch_size)
        self._readers = [RowReader(x, self.dtype, capacity, what)]
        self._readers.append(None if y is None else RowReader(y, self.dtype, capacity, self.y_what))
        has_weights = sample_weight is not None or class_weight is not None
        self._readers.append(
            None
            if sample_weight is None
            else RowReader(sample_weight.reshape(self.n, 1), self.dtype, capacity, "sample_weight")
        )
        self._buffers = [self._new_buffer(capacity, has_weights) for _ in range(2)]

    @staticmethod
    def _array(a, what: str) -> np.ndarray:
        arr = data_utils._numeric(a, what)  # dtype, raggedness, a truncated mapped file
        return a if isinstance(a, np.ndarray) else arr

    def _check_targets(self, y: np.ndarray) -> None:
        out = tuple(self.model.output_shape[1:])
        what = self.y_what
        if y.ndim == 0:
            raise ValueError(f"{what} must hold one target per sample, got a scalar")
        if y.shape[0] != self.n:
            raise ValueError(
                f"{self.what} and {what} hold different numbers of samples: {self.n} and "
                f"{y.shape[0]}"
            )
        if _sparse(self.model):
            if y.shape[1:] not in (out[:-1], out[:-1] + (1,)):
                raise ValueError(
                    f"{what} must hold one integer class label per sample for "
                    f"sparse_categorical_crossentropy, got shape {y.shape}"
                )
        elif y.shape[1:] != out and y.shape[1:] + (1,) != out:
            raise ValueError(
                f"{what} has shape {y.shape} but the model outputs samples of shape {out}: "
                f"targets must have shape {(self.n, *out)}"
            )

    def _new_buffer(self, capacity: int, has_weights: bool) -> dict:
        x_reader, y_reader, _ = self._readers
        return {
            "x": np.empty((capacity, x_reader.columns), self.dtype),
            "y": None if y_reader is None else np.empty((capacity, y_reader.columns), self.dtype),
            "w": np.empty((capacity, 1), self.dtype) if has_weights else None,
        }

    def has_data(self) -> bool:
        return True

    def end_epoch(self) -> None:
        pass

    def _plan(self, epoch: int, seed: int) -> list:
        chunks = [(s, min(s + self.chunk_rows, self.n)) for s in range(0, self.n, self.chunk_rows)]
        if not self.shuffle:
            return [([c], 0) for c in chunks]
        rng = np.random.default_rng([seed, epoch])
        order = rng.permutation(len(chunks))
        # The first window holds one chunk: training starts after one read, not `window`.
        starts = [0, *range(1, len(chunks), self.window)]
        windows = [
            [chunks[i] for i in order[a : a + (1 if a == 0 else self.window)]] for a in starts
        ]
        seeds = rng.integers(1, 2**63 - 1, size=len(windows))
        return [(w, int(s)) for w, s in zip(windows, seeds)]

    def pieces(self, epoch: int = 0, seed: int = 0) -> Prefetcher:
        """The pieces of one epoch (one pass), prepared ahead in a background thread."""
        pool = BufferPool(self._buffers)

        def load():
            for ranges, window_seed in self._plan(epoch, seed):
                buffer = pool.acquire()
                try:
                    rows, x = self._fill(buffer, ranges)
                except BaseException:
                    pool.release(buffer)
                    raise
                view = {k: None if v is None else v[:rows] for k, v in buffer.items()}
                yield Piece(
                    view["x"] if x is None else x,
                    view["y"],
                    view["w"],
                    self.batch_size,
                    math.ceil(rows / self.batch_size),
                    self.shuffle,
                    window_seed,
                    ranges[0][0],
                    lambda b=buffer, r=ranges, mapped=x is not None: self._done(pool, b, r, mapped),
                )

        # No user code runs in the loader: close() waits for it, so buffers never overlap.
        return Prefetcher(load(), depth=1, on_close=pool.close, join_timeout=None)

    def _done(self, pool: BufferPool, buffer: dict, ranges, mapped: bool) -> None:
        pool.release(buffer)
        if mapped:
            for start, stop in ranges:
                self._readers[0].release(start, stop)

    def _fill(self, buffer: dict, ranges) -> tuple[int, np.ndarray | list | None]:
        """Reads the row ranges into `buffer`; returns the rows read and, when x is used in
        place (a mapping in the model's dtype: no copy), x: one array for one range, else
        the list of the ranges' blocks, which the core gathers rows from."""
        x_reader, y_reader, w_reader = self._readers
        in_place = x_reader.in_place
        rows, blocks = 0, []
        for start, stop in ranges:
            part = slice(rows, rows + stop - start)
            x = x_reader.view(start, stop) if in_place else buffer["x"][part]
            blocks.append(x)
            for low in range(start, stop, self._read_rows):  # checked while still in cache
                high = min(low + self._read_rows, stop)
                block = x[low - start : high - start]
                if not in_place:
                    x_reader.read(low, high, block)
                _check_finite_rows(block, self.what, start, stop, low)  # (faults pages in)
            try:
                self.model._flat_layers()[0][0]._check_input(x, self.what)
            except ValueError as error:
                raise ValueError(f"{error} (in rows [{start}, {stop}))") from None
            if y_reader is not None:
                y = buffer["y"][part]
                y_reader.read(start, stop, y)
                self._check_target_values(y, start, stop)
            if buffer["w"] is not None:
                w = buffer["w"][part]
                if w_reader is not None:
                    w_reader.read(start, stop, w)
                    _check_finite_rows(w, "sample_weight", start, stop)
                    if (w < 0).any():
                        raise _rows_error("sample_weight", start, stop, "is negative")
                if self.class_weight is not None:
                    sw = w[:, 0] if w_reader is not None else None
                    weights = self.model._apply_class_weight(self.class_weight, y, sw)
                    w[:, 0] = weights
            rows += stop - start
        if not in_place:
            return rows, None
        return rows, blocks[0] if len(blocks) == 1 else blocks

    def _check_target_values(self, y: np.ndarray, start: int, stop: int) -> None:
        _check_finite_rows(y, self.y_what, start, stop)
        if not _sparse(self.model):
            return
        if not np.all(y == np.floor(y)):
            raise _rows_error(self.y_what, start, stop, "holds non-integer class labels")
        classes = self.model.output_shape[-1]
        low, high = y.min(), y.max()
        if low < 0 or high >= classes:
            raise ValueError(
                f"{self.y_what} holds class labels in [{low:g}, {high:g}] in rows [{start}, "
                f"{stop}) but the model outputs {classes} classes: labels must be in "
                f"[0, {classes - 1}]"
            )

    def close(self) -> None:
        for reader in self._readers:
            if reader is not None:
                reader.close()


# -- PyDatasets and generators, read batch by batch --------------------------------------
def split_batch(batch, where: str) -> tuple:
    """(x, y, sample_weight) of a batch as Keras accepts it: x, (x,), (x, y) or
    (x, y, sample_weight)."""
    if isinstance(batch, list):
        batch = tuple(batch)
    if not isinstance(batch, tuple):
        batch = (batch,)
    if len(batch) not in (1, 2, 3):
        raise ValueError(
            f"{where} must be a tuple (inputs,), (inputs, targets) or (inputs, targets, "
            f"sample_weights); got a tuple of {len(batch)} elements"
        )
    return batch + (None,) * (3 - len(batch))


class _BatchSource:
    """Shared part of the PyDataset and generator sources: conversion of one batch."""

    kind = "batch"

    def __init__(self, model, class_weight, what: str, predict: bool):
        self.model, self.what, self.predict = model, what, predict
        self.class_weight = data_utils.as_class_weight(class_weight)  # before any training
        self.y_example = None
        self.ran_out = False
        self.samples = None  # per batch (see Piece)

    def _where(self, index) -> str:
        return f"batch {index} of the {self.kind}{self.what}"

    def prepare_model(self, batch, index) -> None:
        """Builds the model from a first batch and checks it (in the calling thread, before
        prefetching), so that a malformed data set fails before anything runs."""
        self._convert(batch, index)
        self.y_example = split_batch(batch, self._where(index))[1]

    def _convert(self, batch, index) -> Piece:
        where = self._where(index)
        x, y, sw = split_batch(batch, where)
        try:
            if self.predict:
                x_arr = self.model._prepare(x, what="x", switch=False)[0]
                samples = self.model._input_samples(x)
                return Piece(x_arr, None, None, len(x_arr), 1, start=index, samples=samples)
            if y is None:
                raise ValueError(
                    "holds no targets: training and evaluation need (x, y) or "
                    "(x, y, sample_weight) batches"
                )
            x_arr, y_arr, sw_arr = self.model._prepare(x, y, sw, what="x", switch=False)
            samples = self.model._input_samples(x)
            if self.class_weight is not None:
                if sw is not None:
                    raise ValueError(
                        "You cannot specify `class_weight` and `sample_weight` at the same time."
                    )
                sw_arr = self.model._apply_class_weight(self.class_weight, y_arr, sw_arr)
        except (ValueError, TypeError) as error:
            raise type(error)(f"{where}: {error}") from error
        return Piece(x_arr, y_arr, sw_arr, len(x_arr), 1, start=index, samples=samples)


class PyDatasetSource(_BatchSource):
    """A PyDataset, with Keras 3's epoch rules: an epoch is `steps` batches (default: all)
    of the current pass over the data set; with `steps` given the pass continues into the
    next epoch, and an epoch ends early (with a warning) where the pass ends."""

    kind = "PyDataset"

    def __init__(
        self,
        model,
        dataset,
        steps=None,
        class_weight=None,
        shuffle=False,
        seed=0,
        what="",
        predict=False,
    ):
        super().__init__(model, class_weight, what, predict)
        self.dataset = dataset
        self.num_batches = checked_num_batches(dataset)
        if self.num_batches is None and not steps:
            raise ValueError(
                "The PyDataset is infinite (num_batches is None): pass steps_per_epoch "
                "(fit), validation_steps or steps (evaluate, predict) to say how many "
                "batches make an epoch"
            )
        if self.num_batches is not None and self.num_batches <= 0:
            raise ValueError("The PyDataset has length 0: it must yield at least one batch")
        self.steps_arg = steps
        self.steps = steps or self.num_batches
        self.shuffle = bool(shuffle) and self.num_batches is not None
        if self.shuffle and self.num_batches > MAX_SHUFFLED_BATCHES:
            raise ValueError(
                f"The PyDataset has {self.num_batches} batches, too many to shuffle their "
                f"order (at most {MAX_SHUFFLED_BATCHES}): pass shuffle=False (and shuffle "
                "inside __getitem__ or on_epoch_end), or num_batches=None with steps_per_epoch"
            )
        self._rng = np.random.default_rng(seed)
        self._pass, self._seen = None, 0
        self._fetcher = BatchFetcher(dataset)
        # max_queue_size bounds the batches prepared ahead: in this thread's queue when it
        # loads them itself, in flight in the workers otherwise.
        self._depth = 1 if self._fetcher.parallel else self._fetcher.depth

    def prepare_model(self) -> None:
        super().prepare_model(call_getitem(self.dataset, 0), 0)

    def has_data(self) -> bool:
        return True

    def _epoch_indices(self) -> list:
        if self._pass is None or self.steps_arg is None:
            if self.num_batches is None:
                self._pass = itertools.count() if self._pass is None else self._pass
            else:
                if self.shuffle:
                    order = np.arange(self.num_batches)
                    self._rng.shuffle(order)
                    self._pass = map(int, order)
                else:  # no list of the indices: a huge num_batches costs nothing
                    self._pass = iter(range(self.num_batches))
            self._seen = 0
        indices = []
        for _ in range(self.steps):
            if self.num_batches and self._seen >= self.num_batches:
                if self.steps_arg:
                    self.ran_out = True
                break
            indices.append(next(self._pass))
            self._seen += 1
        if self.num_batches and self._seen >= self.num_batches:
            self._pass = None
        return indices

    def pieces(self, epoch: int = 0, seed: int = 0) -> Prefetcher:
        self.ran_out = False
        indices = self._epoch_indices()
        self.dataset.on_epoch_begin()
        self._fetcher.start_epoch()
        items = (self._convert(b, i) for i, b in self._fetcher.fetch(indices))
        return Prefetcher(items, depth=self._depth)

    def end_epoch(self) -> None:
        self.dataset.on_epoch_end()

    def close(self) -> None:
        self._fetcher.close()


class GeneratorSource(_BatchSource):
    """A Python generator (or iterator). With `steps`, an epoch is the next `steps` batches
    and the generator continues into the next epoch; without, an epoch lasts until it is
    exhausted. A generator cannot restart: once exhausted, training stops."""

    kind = "generator"

    def __init__(self, model, generator, steps=None, what="", predict=False):
        super().__init__(model, None, what, predict)
        self._iterator = iter(generator)
        self._peeked: list = []
        self.exhausted = False
        self.steps = steps
        self._count = 0

    def prepare_model(self) -> None:
        if not self.has_data():
            raise ValueError(
                "When passing a Python generator to an eigennet model, the generator must "
                "yield at least one batch. Received an empty generator."
            )
        super().prepare_model(self._peeked[0], 0)

    def has_data(self) -> bool:
        if self._peeked:
            return True
        if self.exhausted:
            return False
        try:
            self._peeked.append(next(self._iterator))
        except StopIteration:
            self.exhausted = True
            return False
        return True

    def pieces(self, epoch: int = 0, seed: int = 0) -> Prefetcher:
        self.ran_out = False

        def items():
            index = 0
            while self.steps is None or index < self.steps:
                if self._peeked:
                    raw = self._peeked.pop(0)
                else:
                    try:
                        raw = next(self._iterator)
                    except StopIteration:
                        self.exhausted = True
                        self.ran_out = self.steps is not None
                        return
                yield self._convert(raw, self._count)
                self._count += 1
                index += 1

        return Prefetcher(items(), depth=2)

    def end_epoch(self) -> None:
        pass

    def close(self) -> None:
        pass
