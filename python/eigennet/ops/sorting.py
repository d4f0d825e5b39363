"""Sorting `keras.ops`: argsort, sort, top_k, in_top_k, and what sorting gives (median,
quantile, percentile, argpartition).

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


def _quantile_positions(q, n: int, method: str):
    """(lower index, upper index, weight of the upper) of quantile q of n sorted values."""
    position = float(q) * (n - 1)
    lower, upper = int(np.floor(position)), int(np.ceil(position))
    if method == "linear":
        return lower, upper, position - lower
    if method == "lower":
        return lower, lower, 0.0
    if method == "higher":
        return upper, upper, 0.0
    if method == "midpoint":
        return lower, upper, 0.5 if upper != lower else 0.0
    if method == "nearest":
        nearest = int(np.round(position))  # half to even, as NumPy
        return nearest, nearest, 0.0
    raise ValueError(
        f"ops.quantile: method must be linear, lower, higher, midpoint or nearest, got {method!r}"
    )


def quantile(x, q, axis=None, method="linear", keepdims=False):
    """The q-th quantile (q in [0, 1]) along `axis`; symbolically one q (a number) per call
    and an axis of known length (the sorted values train through the interpolation)."""
    qs = np.asarray(q, dtype=np.float64)
    if np.any((qs < 0) | (qs > 1)):
        raise ValueError(f"ops.quantile: q must be in [0, 1], got {q}")
    if not is_symbolic(x):
        a = _array(x)
        a = a if a.dtype.kind == "f" else a.astype("float32")
        return np.quantile(a, q, axis=axis, method=method, keepdims=keepdims).astype(a.dtype)
    if qs.ndim != 0:
        raise ValueError("ops.quantile: on symbolic tensors q must be one number per call")
    if axis is None or isinstance(axis, (list, tuple)):
        raise ValueError("ops.quantile: on symbolic tensors give one integer axis")
    t = symbolic.operand(x, symbolic.dtype_of(x))
    rank = len(t.shape)
    axis = onp._axis(axis, rank, "ops.quantile")
    n = t.shape[axis]
    if n is None:
        raise ValueError(f"ops.quantile: axis {axis} of {t.shape} must have a known length")
    lower, upper, weight = _quantile_positions(qs, int(n), method)
    ordered = sort(t, axis=axis)
    value = onp.take(ordered, [lower], axis=axis)
    if weight:
        value = value * (1.0 - weight) + onp.take(ordered, [upper], axis=axis) * weight
    return value if keepdims else onp.squeeze(value, axis=axis)


def percentile(x, q, axis=None, method="linear", keepdims=False):
    """The q-th percentile (q in [0, 100]) along `axis` (see quantile)."""
    return quantile(x, np.asarray(q, dtype=np.float64) / 100.0, axis, method, keepdims)


def median(x, axis=None, keepdims=False):
    """The median along `axis` (see quantile)."""
    return quantile(x, 0.5, axis, "linear", keepdims)


def argpartition(x, kth, axis=-1):
    """Positions that put the kth value where a sort would, smaller ones before and larger
    after (int32; on symbolic tensors a full argsort, which is one such order)."""
    if not is_symbolic(x):
        return np.argpartition(_array(x), kth, axis=axis).astype("int32")
    return argsort(x, axis=axis)
