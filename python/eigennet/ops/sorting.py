"""Sorting `keras.ops`: argsort, sort, top_k and in_top_k.

On symbolic tensors one native op (ArgSortOp) finds the positions along the last axis (any
other axis is moved there and back); sorted values are `take_along_axis` of the positions, so
they train: the gradient goes back to the values sorted. Positions carry no gradient. NaN
counts as the largest value and equal values keep their order (a stable sort), as NumPy's
and torch's sorts.
"""

from __future__ import annotations

import numpy as np

from eigennet.ops import numpy as onp
from eigennet.ops import symbolic
from eigennet.ops.numpy import _array
from eigennet.ops.symbolic import is_symbolic, record


def _positions(x, k: int | None, descending: bool, axis: int):
    """Symbolic positions of the first k values along `axis` (k None: all), in order."""
    t = symbolic.operand(x, symbolic.dtype_of(x))
    rank = len(t.shape)
    axis = onp._axis(axis, rank, "ops.argsort" if not descending else "ops.top_k")
    moved = t if axis == rank - 1 else onp.moveaxis(t, axis, -1)
    n = moved.shape[-1]
    if n is None:
        raise ValueError(f"ops.argsort/sort/top_k: the axis sorted must have a known length, "
                         f"got shape {t.shape}")  # fmt: skip
    name = "top_k" if descending else "argsort"
    positions = record(name, "ArgSortOp", [moved], int(n if k is None else k), descending)
    return positions if axis == rank - 1 else onp.moveaxis(positions, -1, axis), axis


def argsort(x, axis=-1):
    """The positions that sort `x` along `axis` in ascending order (int32)."""
    if not is_symbolic(x):
        a = _array(x)
        if axis is None:
            a, axis = a.reshape(-1), -1
        return np.argsort(a, axis=axis, kind="stable").astype("int32")
    if axis is None:
        x, axis = onp.reshape(x, (-1,)), -1
    return _positions(x, None, False, axis)[0]


def sort(x, axis=-1):
    """`x` sorted along `axis` in ascending order."""
    if not is_symbolic(x):
        a = _array(x)
        return np.sort(a.reshape(-1) if axis is None else a, axis=-1 if axis is None else axis)
    if axis is None:
        x, axis = onp.reshape(x, (-1,)), -1
    positions, axis = _positions(x, None, False, axis)
    return onp.take_along_axis(x, positions, axis=axis)


def top_k(x, k, sorted=True):  # noqa: A002 (Keras's name)
    """(values, indices) of the `k` largest values along the last axis, largest first
    (indices int32; `sorted=False` gives them in the same order)."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"ops.top_k: k must be a positive integer, got {k!r}")
    if not is_symbolic(x):
        a = _array(x)
        if a.ndim == 0 or k > a.shape[-1]:
            raise ValueError(f"ops.top_k: k={k} exceeds the last axis of shape {a.shape}")
        values = a if a.dtype.kind == "f" else a.astype(np.float64)
        nan = np.isnan(values)
        positions = np.broadcast_to(np.arange(a.shape[-1]), a.shape)
        # NaN first (the largest), then values from the largest, equal ones by position.
        order = np.lexsort((positions, -np.where(nan, 0, values), ~nan), axis=-1)[..., :k]
        return np.take_along_axis(a, order, axis=-1), order.astype("int32")
    positions, _ = _positions(x, int(k), True, -1)
    return onp.take_along_axis(x, positions, axis=-1), positions


def in_top_k(targets, predictions, k):
    """Whether each row's target class is among the `k` largest predictions (a value equal
    to the k-th largest counts, as Keras)."""
    kth = top_k(predictions, k)[0]
    if not is_symbolic(targets, predictions):
        rows = np.asarray(targets).astype(np.int64)[:, None]
        value = np.take_along_axis(_array(predictions), rows, axis=-1)
        return np.any(value >= kth, axis=-1)
    value = onp.take_along_axis(predictions, onp.expand_dims(targets, -1), axis=-1)
    return onp.any(onp.greater_equal(value, kth), axis=-1)
