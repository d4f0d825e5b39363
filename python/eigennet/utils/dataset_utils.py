"""Data set utilities of Keras 3 without TensorFlow: `timeseries_dataset_from_array` (a
`PyDataset` that `fit` accepts, whose batches equal Keras's tf.data batches when not
shuffled), `split_dataset` (arrays, tuples of arrays, PyDatasets) and `normalize`.
"""

from __future__ import annotations

import numbers

import numpy as np

from eigennet.utils.batch_pipeline import BatchPipeline
from eigennet.utils.py_dataset import PyDataset


def _int_arg(name: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"`{name}` must be an integer >= {minimum}. Received: {name}={value!r}")
    return int(value)


class TimeseriesDataset(BatchPipeline, PyDataset):
    """Windows over an array (see `timeseries_dataset_from_array`). Each window is
    gathered when its batch is read: memory holds one batch, not every window. The `tf.data`
    methods (`map`, `take`, ...) are batch_pipeline's."""

    def __init__(self, data, targets, starts, sequence_length, sampling_rate, batch_size):
        super().__init__()
        self._data, self._targets, self._starts = data, targets, starts
        self._offsets = np.arange(sequence_length) * sampling_rate
        self._batch_size = batch_size

    def __len__(self):
        if self._batch_size is None:
            return len(self._starts)
        return -(-len(self._starts) // self._batch_size)

    def __getitem__(self, index):
        if not 0 <= index < len(self):
            raise IndexError(f"batch index {index} out of range [0, {len(self)})")
        if self._batch_size is None:
            starts = self._starts[index : index + 1]
        else:
            starts = self._starts[index * self._batch_size : (index + 1) * self._batch_size]
        x = np.asarray(self._data[starts[:, None] + self._offsets])
        y = None if self._targets is None else np.asarray(self._targets[starts])
        if self._batch_size is None:
            x = x[0]
            y = None if y is None else y[0]
        return x if y is None else (x, y)


def timeseries_dataset_from_array(
    data,
    targets,
    sequence_length,
    sequence_stride=1,
    sampling_rate=1,
    batch_size=128,
    shuffle=False,
    seed=None,
    start_index=None,
    end_index=None,
):
    """Sliding windows over `data` (timesteps on axis 0), as Keras 3's function.

    Window i starts at `start_index + starts[i]` and holds `sequence_length` timesteps
    `sampling_rate` apart; starts are `0, sequence_stride, ...` while the window fits in
    `[start_index, end_index)` (and, with targets, while `targets` has an entry). Its target
    is `targets[start_index + starts[i]]`. Returns a `utils.PyDataset` of batches `(x, y)`
    (or `x` without targets) that `fit`, `evaluate` and `predict` accept; `batch_size=None`
    gives one window per item. With `shuffle`, the windows are shuffled with
    `np.random.RandomState(seed)` (Keras's own order cannot be reproduced without TF: its
    tf.data shuffle buffer differs); the batches are otherwise Keras's.
    """
    data = data if isinstance(data, np.ndarray) else np.asarray(data)
    n = len(data)
    sequence_length = _int_arg("sequence_length", sequence_length)
    if start_index:
        if start_index < 0:
            raise ValueError(
                f"`start_index` must be 0 or greater. Received: start_index={start_index}"
            )
        if start_index >= n:
            raise ValueError(
                "`start_index` must be lower than the length of the data. Received: "
                f"start_index={start_index}, for data of length {n}"
            )
    if end_index:
        if start_index and end_index <= start_index:
            raise ValueError(
                "`end_index` must be higher than `start_index`. Received: "
                f"start_index={start_index}, and end_index={end_index}"
            )
        if end_index >= n:
            raise ValueError(
                "`end_index` must be lower than the length of the data. Received: "
                f"end_index={end_index}, for data of length {n}"
            )
    if end_index is not None and end_index <= 0:
        raise ValueError(f"`end_index` must be higher than 0. Received: end_index={end_index}")
    sampling_rate = _int_arg("sampling_rate", sampling_rate)
    if sampling_rate >= n:
        raise ValueError(
            "`sampling_rate` must be lower than the length of the data. Received: "
            f"sampling_rate={sampling_rate}, for data of length {n}"
        )
    sequence_stride = _int_arg("sequence_stride", sequence_stride)
    if sequence_stride >= n:
        raise ValueError(
            "`sequence_stride` must be lower than the length of the data. Received: "
            f"sequence_stride={sequence_stride}, for data of length {n}"
        )
    if batch_size is not None:
        batch_size = _int_arg("batch_size", batch_size)
    start_index = start_index or 0
    end_index = end_index or n
    count = end_index - start_index - (sequence_length - 1) * sampling_rate
    if targets is not None:
        targets = targets if isinstance(targets, np.ndarray) else np.asarray(targets)
        count = min(count, len(targets) - start_index)
    if count <= 0:
        raise ValueError(
            f"timeseries_dataset_from_array: no window of sequence_length={sequence_length} "
            f"and sampling_rate={sampling_rate} fits in the data between start_index="
            f"{start_index} and end_index={end_index}"
        )
    starts = np.arange(0, count, sequence_stride)
    if shuffle:
        rng = np.random.RandomState(np.random.randint(1e6) if seed is None else seed)
        rng.shuffle(starts)
    return TimeseriesDataset(
        data, targets, starts + start_index, sequence_length, sampling_rate, batch_size
    )


class _SubsetDataset(PyDataset):
    """Some batches of another PyDataset (split_dataset's halves of a PyDataset)."""

    def __init__(self, source: PyDataset, indices):
        super().__init__()
        self._source, self._indices = source, list(indices)

    def __len__(self):
        return len(self._indices)

    def __getitem__(self, index):
        return self._source[self._indices[index]]


def _sizes(total: int, left_size, right_size) -> tuple[int, int]:
    """Keras's rule: fractions in (0, 1) or counts; one side given, the other is the rest;
    neither: left 0.5."""

    def as_count(name, value):
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (numbers.Integral, float)):
            raise TypeError(
                f"split_dataset: `{name}` must be an int, a float or None. Received: {value!r}"
            )
        if isinstance(value, float):
            if not 0 < value < 1:
                raise ValueError(
                    f"split_dataset: a float `{name}` must be in (0, 1). Received: {name}={value}"
                )
            return round(value * total)
        if not 0 < value <= total:
            raise ValueError(
                f"split_dataset: `{name}` must be in (0, {total}] for a data set of {total} "
                f"samples. Received: {name}={value}"
            )
        return int(value)

    left, right = as_count("left_size", left_size), as_count("right_size", right_size)
    if left is None and right is None:
        left = round(0.5 * total)
    if left is None:
        left = total - right
    if right is None:
        right = total - left
    if left + right > total:
        raise ValueError(
            f"split_dataset: left_size + right_size ({left} + {right}) exceeds the {total} "
            "samples of the data set"
        )
    if left == 0 and right == 0:
        raise ValueError("split_dataset: both halves would be empty")
    return left, right


def split_dataset(dataset, left_size=None, right_size=None, shuffle=False, seed=None):
    """Splits an array, a tuple/list of arrays (same length) or a PyDataset (by batches)
    into a left and a right part, as Keras 3's `split_dataset`: sizes are fractions or
    counts (one of them may be None: the rest), shuffled first with `shuffle` (NumPy's
    RandomState(seed); Keras's own shuffled order is not reproduced). Returns two arrays,
    two tuples of arrays, or two PyDatasets."""
    if isinstance(dataset, PyDataset):
        total = dataset.num_batches
        if total is None:
            raise ValueError("split_dataset: an endless PyDataset cannot be split")
        order = np.arange(total)
        if shuffle:
            np.random.RandomState(seed).shuffle(order)
        left, right = _sizes(total, left_size, right_size)
        return _SubsetDataset(dataset, order[:left]), _SubsetDataset(
            dataset, order[left : left + right]
        )
    is_tuple = isinstance(dataset, (tuple, list))
    arrays = [np.asarray(a) for a in dataset] if is_tuple else [np.asarray(dataset)]
    if not arrays or any(a.ndim == 0 for a in arrays):
        raise ValueError("split_dataset: `dataset` must be an array or a tuple of arrays")
    total = len(arrays[0])
    if any(len(a) != total for a in arrays):
        raise ValueError(
            "split_dataset: the arrays of `dataset` must have the same length. Received "
            f"lengths {[len(a) for a in arrays]}"
        )
    if total == 0:
        raise ValueError("split_dataset: `dataset` is empty")
    order = np.arange(total)
    if shuffle:
        np.random.RandomState(seed).shuffle(order)
    left, right = _sizes(total, left_size, right_size)
    halves = [[a[order[:left]] for a in arrays], [a[order[left : left + right]] for a in arrays]]
    if is_tuple:
        return tuple(halves[0]), tuple(halves[1])
    return halves[0][0], halves[1][0]


def normalize(x, axis=-1, order=2):
    """`x` divided by its `order`-norm along `axis` (zero norms left as 1), as Keras."""
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.number):
        raise ValueError(f"normalize: `x` must be numeric, got dtype {x.dtype}")
    norm = np.atleast_1d(np.linalg.norm(x, order, axis))
    norm[norm == 0] = 1
    return x / np.expand_dims(norm, axis or -1)
