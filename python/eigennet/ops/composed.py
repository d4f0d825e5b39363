"""NumPy-like `keras.ops` written in terms of the native ones: cube roots, angles, infinities,
NaN-aware reductions, flips, rolls and rotations, differences, diagonals, stacks, products
(outer, Kronecker, cross), searches in a sorted constant, and comparisons.

On arrays each is NumPy's function (Keras's results, dtypes as Keras gives them: floats stay
their width, integers become float32). On symbolic tensors each is a composition of the ops
the core runs, so it trains natively with its gradient. The axes an op reorders (flip, roll,
diff) must have a known length.
"""

from __future__ import annotations

import math

import numpy as np

from eigennet.ops import numpy as onp
from eigennet.ops import symbolic
from eigennet.ops.numpy import _array
from eigennet.ops.symbolic import is_symbolic


def _float_array(x) -> np.ndarray:
    a = _array(x)
    return a if a.dtype.kind == "f" else a.astype("float32")


def _float(x):
    return x if is_symbolic(x) else _float_array(x)


def _elementwise(name: str, numpy_fn, composed, doc: str):
    def op(x):
        if is_symbolic(x):
            return composed(x)
        a = _float_array(x)
        return numpy_fn(a).astype(a.dtype)

    op.__name__ = name
    op.__doc__ = doc
    return op


cbrt = _elementwise(
    "cbrt",
    np.cbrt,
    lambda x: onp.sign(x) * onp.power(onp.abs(x), 1.0 / 3.0),
    "Cube root (of negative values too).",
)
deg2rad = _elementwise(
    "deg2rad", np.deg2rad, lambda x: x * (math.pi / 180.0), "Degrees to radians."
)
rad2deg = _elementwise(
    "rad2deg", np.rad2deg, lambda x: x * (180.0 / math.pi), "Radians to degrees."
)
fabs = _elementwise("fabs", np.fabs, onp.abs, "Absolute value.")


def _isinf(x):
    return onp.logical_and(onp.logical_not(onp.isfinite(x)), onp.logical_not(onp.isnan(x)))


def isinf(x):
    """Whether each value is infinite."""
    return _isinf(x) if is_symbolic(x) else np.isinf(_array(x))


def isposinf(x):
    """Whether each value is +inf."""
    return onp.logical_and(_isinf(x), onp.greater(x, 0.0)) if is_symbolic(x) else np.isposinf(x)


def isneginf(x):
    """Whether each value is -inf."""
    return onp.logical_and(_isinf(x), onp.less(x, 0.0)) if is_symbolic(x) else np.isneginf(x)


def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    """NaN replaced by `nan`, infinities by `posinf`/`neginf` (default: the dtype's largest
    finite values)."""
    if not is_symbolic(x):
        return np.nan_to_num(_array(x), nan=nan, posinf=posinf, neginf=neginf)
    big = float(np.finfo(symbolic.dtype_of(x)).max)
    posinf = big if posinf is None else posinf
    neginf = -big if neginf is None else neginf
    finite = onp.where(isposinf(x), onp.full_like(x, posinf), x)
    finite = onp.where(isneginf(x), onp.full_like(x, neginf), finite)
    return onp.where(onp.isnan(x), onp.full_like(x, nan), finite)


def hypot(x1, x2):
    """`sqrt(x1 ** 2 + x2 ** 2)`."""
    if not is_symbolic(x1, x2):
        return np.hypot(_float_array(x1), _float_array(x2))
    return onp.sqrt(onp.square(x1) + onp.square(x2))


def logaddexp(x1, x2):
    """`log(exp(x1) + exp(x2))`, computed stably."""
    if not is_symbolic(x1, x2):
        return np.logaddexp(_float_array(x1), _float_array(x2))
    return onp.maximum(x1, x2) + onp.log1p(onp.exp(-onp.abs(x1 - x2)))


def divide_no_nan(x1, x2):
    """`x1 / x2`, and 0 where `x2` is 0 (with a zero gradient there)."""
    if not is_symbolic(x1, x2):
        a, b = _float_array(x1), _float_array(x2)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(b == 0, np.zeros((), np.result_type(a, b)), a / b)
    zero = onp.equal(x2, 0.0)
    safe = onp.where(zero, onp.ones_like(x2), x2)  # (no inf times a zero gradient)
    quotient = x1 / safe
    return onp.where(zero, onp.zeros_like(quotient), quotient)


def heaviside(x1, x2):
    """0 where `x1 < 0`, `x2` where `x1 == 0`, 1 where `x1 > 0`."""
    if not is_symbolic(x1, x2):
        return np.heaviside(_float_array(x1), _float_array(x2))
    x1 = _float(x1)
    at_zero = onp.where(onp.equal(x1, 0.0), onp.zeros_like(x1) + x2, onp.ones_like(x1))
    return onp.where(onp.less(x1, 0.0), onp.zeros_like(x1), at_zero)


def isclose(x1, x2, rtol=1e-5, atol=1e-8, equal_nan=False):
    """Whether `|x1 - x2| <= atol + rtol * |x2|`, element-wise."""
    if not is_symbolic(x1, x2):
        return np.isclose(_array(x1), _array(x2), rtol=rtol, atol=atol, equal_nan=equal_nan)
    if equal_nan:
        raise ValueError("ops.isclose: equal_nan=True is not supported on symbolic tensors")
    return onp.less_equal(onp.abs(x1 - x2), atol + rtol * onp.abs(x2))


def allclose(x1, x2, rtol=1e-5, atol=1e-8, equal_nan=False):
    """Whether every pair is close (see isclose)."""
    if not is_symbolic(x1, x2):
        return np.allclose(_array(x1), _array(x2), rtol=rtol, atol=atol, equal_nan=equal_nan)
    return onp.all(isclose(x1, x2, rtol, atol, equal_nan))


# -- reductions ----------------------------------------------------------------------------
def count_nonzero(x, axis=None):
    """The number of values that are not 0 along `axis` (int32)."""
    if not is_symbolic(x):
        return np.asarray(np.count_nonzero(_array(x), axis=axis), dtype="int32")
    return onp.sum(onp.cast(onp.not_equal(x, 0.0), "float32"), axis=axis)


def ptp(x, axis=None, keepdims=False):
    """The range (maximum minus minimum) along `axis`."""
    if not is_symbolic(x):
        return np.ptp(_array(x), axis=axis, keepdims=keepdims)
    return onp.max(x, axis=axis, keepdims=keepdims) - onp.min(x, axis=axis, keepdims=keepdims)


def average(x, axis=None, weights=None):
    """The mean along `axis`, weighted by `weights` (of x's shape, or 1-D along one axis)."""
    if not is_symbolic(x, weights):
        return np.average(_float_array(x), axis=axis, weights=weights)
    if weights is None:
        return onp.mean(x, axis=axis)
    w = weights
    if len(onp.shape(w)) == 1 and len(onp.shape(x)) > 1:  # 1-D weights along `axis`
        if not isinstance(axis, int):
            raise ValueError("ops.average: 1-D weights need an integer axis")
        rank = len(onp.shape(x))
        w = onp.reshape(w, [-1 if k == axis % rank else 1 for k in range(rank)])
    return onp.sum(x * w, axis=axis) / onp.sum(w * onp.ones_like(x), axis=axis)


def _nan_reduction(name: str, numpy_fn, fill, reduce):
    def op(x, axis=None, keepdims=False):
        if not is_symbolic(x):
            return numpy_fn(_float_array(x), axis=axis, keepdims=keepdims)
        filled = onp.where(onp.isnan(x), onp.full_like(x, fill), x)
        return reduce(filled, axis=axis, keepdims=keepdims)

    op.__name__ = name
    op.__doc__ = f"`{name[3:]}` along `axis`, NaN values left out."
    return op


nansum = _nan_reduction("nansum", np.nansum, 0.0, onp.sum)
nanprod = _nan_reduction("nanprod", np.nanprod, 1.0, onp.prod)
nanmax = _nan_reduction("nanmax", np.nanmax, -np.inf, onp.max)
nanmin = _nan_reduction("nanmin", np.nanmin, np.inf, onp.min)


def nanmean(x, axis=None, keepdims=False):
    """The mean along `axis`, NaN values left out."""
    if not is_symbolic(x):
        return np.nanmean(_float_array(x), axis=axis, keepdims=keepdims)
    present = onp.cast(onp.logical_not(onp.isnan(x)), "float32")
    total = nansum(x, axis=axis, keepdims=keepdims)
    return total / onp.sum(present, axis=axis, keepdims=keepdims)


# -- reordering along known axes -----------------------------------------------------------
def _known_length(x, axis: int, what: str) -> int:
    n = onp.shape(x)[axis]
    if not isinstance(n, (int, np.integer)):
        raise ValueError(f"{what}: axis {axis} of {onp.shape(x)} must have a known length")
    return int(n)


def _axes_of(x, axis) -> list[int]:
    rank = len(onp.shape(x))
    axes = range(rank) if axis is None else axis if isinstance(axis, (list, tuple)) else [axis]
    return [a % rank for a in axes]


def flip(x, axis=None):
    """`x` with the order of its values reversed along `axis` (every axis when None)."""
    if not is_symbolic(x):
        return np.flip(_array(x), axis=axis)
    for a in _axes_of(x, axis):
        n = _known_length(x, a, "ops.flip")
        x = onp.take(x, np.arange(n - 1, -1, -1), axis=a)
    return x


def fliplr(x):
    """`x` reversed along axis 1."""
    return flip(x, axis=1)


def flipud(x):
    """`x` reversed along axis 0."""
    return flip(x, axis=0)


def roll(x, shift, axis=None):
    """`x` shifted by `shift` positions along `axis` (values leaving one end enter at the
    other); of the flattened `x` when axis is None."""
    if not is_symbolic(x):
        return np.roll(_array(x), shift, axis=axis)
    if axis is None:
        shape = onp.shape(x)
        return onp.reshape(roll(onp.reshape(x, (-1,)), shift, 0), shape)
    shifts = shift if isinstance(shift, (list, tuple)) else [shift] * len(_axes_of(x, axis))
    for a, s in zip(_axes_of(x, axis), shifts):
        n = _known_length(x, a, "ops.roll")
        x = onp.take(x, (np.arange(n) - int(s)) % n, axis=a)
    return x


def diff(a, n=1, axis=-1):
    """The `n`-th differences along `axis`: `a[i + 1] - a[i]`, repeated n times."""
    if not is_symbolic(a):
        return np.diff(_array(a), n=n, axis=axis)
    axis = _axes_of(a, axis)[0]
    for _ in range(int(n)):
        length = _known_length(a, axis, "ops.diff")
        a = onp.take(a, np.arange(1, length), axis=axis) - onp.take(
            a, np.arange(length - 1), axis=axis
        )
    return a


def _diagonal_mask(x, offset: int, axis1: int, axis2: int, what: str):
    """(mask, axis1, axis2, rows, cols): ones on the `offset` diagonal of the planes of
    axis1 (rows) and axis2 (columns), shaped to broadcast against `x`."""
    rank = len(onp.shape(x))
    axis1, axis2 = axis1 % rank, axis2 % rank
    rows, cols = _known_length(x, axis1, what), _known_length(x, axis2, what)
    mask = np.eye(rows, cols, offset, dtype="float32")
    mask = mask if axis1 < axis2 else mask.T  # (in the tensor's axis order)
    mask = mask.reshape([rows if k == axis1 else cols if k == axis2 else 1 for k in range(rank)])
    return mask, axis1, axis2, rows, cols


def trace(x, offset=0, axis1=0, axis2=1):
    """The sum along the `offset` diagonal of the planes of axes `axis1` and `axis2`."""
    if not is_symbolic(x):
        return np.trace(_array(x), offset=offset, axis1=axis1, axis2=axis2)
    mask, axis1, axis2, _, _ = _diagonal_mask(x, offset, axis1, axis2, "ops.trace")
    return onp.sum(x * mask, axis=[axis1, axis2])


# -- joining and products ------------------------------------------------------------------
def hstack(xs):
    """The tensors joined along axis 1 (axis 0 for 1-D ones)."""
    xs = list(xs)
    return onp.concatenate(xs, axis=0 if len(onp.shape(xs[0])) == 1 else 1)


def vstack(xs):
    """The tensors joined along axis 0 (1-D ones as rows)."""
    xs = list(xs)
    if len(onp.shape(xs[0])) == 1:
        return onp.stack(xs, axis=0)
    return onp.concatenate(xs, axis=0)


def outer(x1, x2):
    """`x1[i] * x2[j]` of the flattened tensors."""
    if not is_symbolic(x1, x2):
        return np.outer(_array(x1), _array(x2))
    return onp.reshape(x1, (-1, 1)) * onp.reshape(x2, (1, -1))


def vdot(x1, x2):
    """The dot product of the flattened tensors."""
    if not is_symbolic(x1, x2):
        return np.vdot(_array(x1), _array(x2))
    return onp.sum(onp.reshape(x1, (-1,)) * onp.reshape(x2, (-1,)))


def inner(x1, x2):
    """The sum of products over the last axes (a scalar product for 1-D tensors)."""
    if not is_symbolic(x1, x2):
        return np.inner(_array(x1), _array(x2))
    return onp.tensordot(x1, x2, axes=[[-1], [-1]])


# -- creation (arrays) ---------------------------------------------------------------------
def logspace(start, stop, num=50, endpoint=True, base=10, dtype=None, axis=0):
    """`base ** linspace(start, stop, num)`."""
    return np.logspace(start, stop, num, endpoint, base, dtype or "float32", axis)


def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    """Values evenly spaced on a log scale from start to stop."""
    return np.geomspace(start, stop, num, endpoint, dtype or "float32", axis)


def meshgrid(*x, indexing="xy"):
    """Coordinate grids from 1-D arrays (as NumPy's)."""
    return np.meshgrid(*[_array(v) for v in x], indexing=indexing)


def logaddexp2(x1, x2):
    """`log2(2 ** x1 + 2 ** x2)`, computed stably."""
    if not is_symbolic(x1, x2):
        return np.logaddexp2(_float_array(x1), _float_array(x2))
    return onp.maximum(x1, x2) + onp.log2(1.0 + onp.exp2(-onp.abs(x1 - x2)))


def signbit(x):
    """Whether each value is negative (on symbolic tensors `x < 0`: -0.0 reads as positive)."""
    return onp.less(x, 0.0) if is_symbolic(x) else np.signbit(_array(x))


def select(condlist, choicelist, default=0):
    """The value of the first choice whose condition holds, else `default`, element-wise."""
    if len(condlist) != len(choicelist) or not condlist:
        raise ValueError("ops.select: condlist and choicelist must be non-empty, of one length")
    if not is_symbolic(*condlist, *choicelist, default):
        return np.select([_array(c) for c in condlist], [_array(v) for v in choicelist], default)
    result = onp.zeros_like(choicelist[0]) + default
    for condition, value in zip(reversed(condlist), reversed(choicelist)):
        result = onp.where(condition, value, result)
    return result


def rot90(array, k=1, axes=(0, 1)):
    """`array` turned by k quarter turns in the plane of `axes` (NumPy's rule)."""
    if not is_symbolic(array):
        return np.rot90(_array(array), k=k, axes=axes)
    rank = len(onp.shape(array))
    a, b = (ax % rank for ax in axes)
    if a == b:
        raise ValueError(f"ops.rot90: axes must differ, got {axes}")
    perm = list(range(rank))
    perm[a], perm[b] = perm[b], perm[a]
    turns = k % 4
    if turns == 1:
        return onp.transpose(flip(array, b), perm)
    if turns == 2:
        return flip(flip(array, a), b)
    if turns == 3:
        return flip(onp.transpose(array, perm), b)
    return array


def diagonal(x, offset=0, axis1=0, axis2=1):
    """The `offset` diagonal of the planes of `axis1` and `axis2`, as a last axis."""
    if not is_symbolic(x):
        return np.diagonal(_array(x), offset=offset, axis1=axis1, axis2=axis2)
    mask, axis1, axis2, rows, cols = _diagonal_mask(x, offset, axis1, axis2, "ops.diagonal")
    on_rows = onp.sum(x * mask, axis=axis2)  # row i holds x[i, i + offset] (0 past the edge)
    first = max(0, -offset)
    count = max(0, min(rows, cols - offset) - first)
    picked = onp.take(on_rows, np.arange(first, first + count), axis=axis1 - (axis1 > axis2))
    return onp.moveaxis(picked, axis1 - (axis1 > axis2), -1)


def diag(x, k=0):
    """A 1-D tensor's values on the `k` diagonal of a square matrix, or a 2-D tensor's `k`
    diagonal."""
    if not is_symbolic(x):
        return np.diag(_array(x), k=k)
    shape = onp.shape(x)
    if len(shape) == 2:
        return diagonal(x, offset=k)
    if len(shape) != 1:
        raise ValueError(f"ops.diag: x must be 1-D or 2-D, got shape {shape}")
    n = _known_length(x, 0, "ops.diag")
    size = n + abs(k)
    rows = np.zeros((size, n), "float32")
    columns = np.zeros((n, size), "float32")
    rows[np.arange(n) + max(0, -k), np.arange(n)] = 1.0  # value i on row i - min(k, 0)
    columns[np.arange(n), np.arange(n) + max(0, k)] = 1.0  # and on column i + max(k, 0)
    return onp.matmul(rows, onp.reshape(x, (n, 1)) * columns)


def kron(x1, x2):
    """The Kronecker product of two tensors of one rank."""
    if not is_symbolic(x1, x2):
        return np.kron(_array(x1), _array(x2))
    a, b = onp.shape(x1), onp.shape(x2)
    if len(a) != len(b) or any(not isinstance(d, (int, np.integer)) for d in (*a, *b)):
        raise ValueError(f"ops.kron: tensors of one rank and known shapes, got {a} and {b}")
    spread_a = onp.reshape(x1, [d for n in a for d in (n, 1)])
    spread_b = onp.reshape(x2, [d for n in b for d in (1, n)])
    return onp.reshape(spread_a * spread_b, [m * n for m, n in zip(a, b)])


def cross(x1, x2, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """The cross product of 3-vectors along the given axes (`axis` sets all three)."""
    if axis is not None:
        axisa = axisb = axisc = axis
    if not is_symbolic(x1, x2):
        return np.cross(_array(x1), _array(x2), axisa, axisb, axisc)
    if axisa != axisb or axisb != axisc:
        raise ValueError("ops.cross: on symbolic tensors the three axes must be the same")
    for t in (x1, x2):
        if _known_length(t, axisa, "ops.cross") != 3:
            raise ValueError(f"ops.cross: vectors of length 3 along axis {axisa} are supported")
    a = [onp.take(x1, [i], axis=axisa) for i in range(3)]
    b = [onp.take(x2, [i], axis=axisa) for i in range(3)]
    parts = [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
    return onp.concatenate(parts, axis=axisa)


def searchsorted(sorted_sequence, values, side="left"):
    """Where each value would be inserted into the ascending 1-D `sorted_sequence` to keep it
    sorted (int32): after equal entries with side="right"."""
    if side not in ("left", "right"):
        raise ValueError(f"ops.searchsorted: side must be 'left' or 'right', got {side!r}")
    if is_symbolic(sorted_sequence):
        raise ValueError("ops.searchsorted: the sorted sequence must be an array (a constant)")
    sequence = _array(sorted_sequence)
    if sequence.ndim != 1:
        raise ValueError(f"ops.searchsorted: sorted_sequence must be 1-D, got {sequence.shape}")
    if not is_symbolic(values):
        return np.searchsorted(sequence, _array(values), side=side).astype("int32")
    below = onp.less if side == "left" else onp.less_equal  # entries before the value
    return onp.sum(onp.cast(below(sequence, onp.expand_dims(values, -1)), "float32"), axis=-1)


def digitize(x, bins):
    """The index of the bin of each value: `bins[i - 1] <= x < bins[i]` for ascending bins
    (int32)."""
    if not is_symbolic(x):
        return np.digitize(_array(x), _array(bins)).astype("int32")
    return searchsorted(bins, x, side="right")


def bincount(x, weights=None, minlength=0, sparse=False):
    """How often each non-negative integer occurs in `x` (or the sum of its `weights`); on
    arrays, as its length depends on the values."""
    if sparse:
        raise ValueError("ops.bincount: sparse=True is not supported")
    if is_symbolic(x, weights):
        raise ValueError("ops.bincount computes on arrays (its length depends on the values)")
    a = _array(x)
    if a.ndim == 2:  # Keras: one count per row
        w = [None] * len(a) if weights is None else _array(weights)
        n = max(int(a.max(initial=-1)) + 1, minlength)
        return np.stack([np.bincount(r, None if wr is None else wr, n) for r, wr in zip(a, w)])
    return np.bincount(a, None if weights is None else _array(weights), minlength)


# -- more of NumPy's names, composed -----------------------------------------------------------
def append(x1, x2, axis=None):
    """`x2` joined after `x1` along `axis` (both flattened when None)."""
    if axis is None:
        return onp.concatenate([onp.reshape(x1, (-1,)), onp.reshape(x2, (-1,))], axis=0)
    return onp.concatenate([x1, x2], axis=axis)


def copy(x):
    """A copy of `x` (a symbolic tensor is its own)."""
    return x if is_symbolic(x) else np.array(_array(x), copy=True)


def dstack(xs):
    """The tensors joined along axis 2 (1-D and 2-D ones made 3-D first, as NumPy)."""
    xs = list(xs)
    if not is_symbolic(*xs):
        return np.dstack([_array(x) for x in xs])
    shaped = []
    for x in xs:
        rank = len(onp.shape(x))
        shaped.append(x if rank >= 3 else onp.reshape(x, (1, -1, 1)) if rank == 1
                      else onp.expand_dims(x, -1))  # fmt: skip
    return onp.concatenate(shaped, axis=2)


def hsplit(x, indices_or_sections):
    """`x` split along axis 1 (axis 0 for 1-D)."""
    return onp.split(x, indices_or_sections, axis=0 if len(onp.shape(x)) == 1 else 1)


def vsplit(x, indices_or_sections):
    """`x` split along axis 0."""
    return onp.split(x, indices_or_sections, axis=0)


def empty_like(x, dtype=None):
    """A tensor of x's shape (zeros, as Keras's backends give)."""
    return onp.zeros_like(x, dtype=dtype)


def fmax(x1, x2):
    """The larger of two values, the other where one is NaN."""
    return _nan_pick(x1, x2, np.fmax, onp.maximum)


def fmin(x1, x2):
    """The smaller of two values, the other where one is NaN."""
    return _nan_pick(x1, x2, np.fmin, onp.minimum)


def _nan_pick(x1, x2, numpy_fn, pick):
    if not is_symbolic(x1, x2):
        return numpy_fn(_float_array(x1), _float_array(x2))
    return onp.where(onp.isnan(x1), x2, onp.where(onp.isnan(x2), x1, pick(x1, x2)))


def fmod(x1, x2):
    """The remainder of `x1 / x2` with the sign of x1 (C's fmod)."""
    if not is_symbolic(x1, x2):
        return np.fmod(_array(x1), _array(x2))
    return x1 - onp.trunc(x1 / x2) * x2


def ldexp(x1, x2):
    """`x1 * 2 ** x2`."""
    if not is_symbolic(x1, x2):
        return np.ldexp(_float_array(x1), np.asarray(x2).astype(np.int32))
    return x1 * onp.exp2(x2)


erfc = _elementwise("erfc", lambda a: 1.0 - np.vectorize(math.erf)(a), lambda x: 1.0 - onp.erf(x),
                    "The complementary error function `1 - erf(x)`.")  # fmt: skip


def sinc(x):
    """`sin(pi x) / (pi x)`, 1 at 0."""
    if not is_symbolic(x):
        a = _float_array(x)
        return np.sinc(a).astype(a.dtype)
    zero = onp.equal(x, 0.0)
    safe = onp.where(zero, onp.ones_like(x), x) * math.pi  # (no 0/0 in the gradient)
    return onp.where(zero, onp.ones_like(x), onp.sin(safe) / safe)


def is_tensor(x) -> bool:
    """Whether `x` is a tensor here: a NumPy array or a symbolic tensor."""
    return is_symbolic(x) or isinstance(x, np.ndarray)


def isreal(x):
    """True everywhere (these tensors are real)."""
    if not is_symbolic(x):
        return np.isreal(_array(x))
    return onp.greater(onp.ones_like(x), 0.0)


def real(x):
    """`x` (these tensors are real)."""
    return x if is_symbolic(x) else np.real(_array(x))


def imag(x):
    """Zeros of x's shape (these tensors are real)."""
    return onp.zeros_like(x) if is_symbolic(x) else np.imag(_array(x))


def conj(x):
    """`x` (these tensors are real)."""
    return real(x)


conjugate = conj


def nanvar(x, axis=None, keepdims=False):
    """The variance along `axis`, NaN values left out."""
    if not is_symbolic(x):
        return np.nanvar(_float_array(x), axis=axis, keepdims=keepdims)
    mean = nanmean(x, axis=axis, keepdims=True)
    present = onp.cast(onp.logical_not(onp.isnan(x)), "float32")
    squares = onp.where(onp.isnan(x), onp.zeros_like(x), onp.square(x - mean))
    total = onp.sum(squares, axis=axis, keepdims=keepdims)
    return total / onp.sum(present, axis=axis, keepdims=keepdims)


def nanstd(x, axis=None, keepdims=False):
    """The standard deviation along `axis`, NaN values left out."""
    if not is_symbolic(x):
        return np.nanstd(_float_array(x), axis=axis, keepdims=keepdims)
    return onp.sqrt(nanvar(x, axis, keepdims))


def nanargmax(x, axis=None, keepdims=False):
    """The index of the largest non-NaN value along `axis` (int32)."""
    if not is_symbolic(x):
        return np.nanargmax(_array(x), axis=axis, keepdims=keepdims).astype("int32")
    return onp.argmax(onp.where(onp.isnan(x), onp.full_like(x, -np.inf), x), axis, keepdims)


def nanargmin(x, axis=None, keepdims=False):
    """The index of the smallest non-NaN value along `axis` (int32)."""
    if not is_symbolic(x):
        return np.nanargmin(_array(x), axis=axis, keepdims=keepdims).astype("int32")
    return onp.argmin(onp.where(onp.isnan(x), onp.full_like(x, np.inf), x), axis, keepdims)


def nancumsum(x, axis=None, dtype=None):
    """The cumulative sum along `axis`, NaN values counted as 0."""
    if not is_symbolic(x):
        return np.nancumsum(_float_array(x), axis=axis)
    return onp.cumsum(onp.where(onp.isnan(x), onp.zeros_like(x), x), axis=axis)


def nancumprod(x, axis=None, dtype=None):
    """The cumulative product along `axis`, NaN values counted as 1."""
    if not is_symbolic(x):
        return np.nancumprod(_float_array(x), axis=axis)
    return onp.cumprod(onp.where(onp.isnan(x), onp.ones_like(x), x), axis=axis)


def isin(x1, x2, assume_unique=False, invert=False):
    """Whether each value of `x1` is among the values of `x2` (an array)."""
    if is_symbolic(x2):
        raise ValueError("ops.isin: the values looked for (x2) must be an array")
    values = np.unique(_array(x2)).astype("float32")
    if not is_symbolic(x1):
        return np.isin(_array(x1), values, invert=invert)
    found = onp.any(onp.equal(onp.expand_dims(x1, -1), values), axis=-1)
    return onp.logical_not(found) if invert else found


def trapezoid(y, x=None, dx=1.0, axis=-1):
    """The integral of `y` along `axis` by the trapezoidal rule (spacing `dx`, or the
    sample points `x`, an array)."""
    if not is_symbolic(y):
        return np.trapezoid(_float_array(y), None if x is None else _array(x), dx, axis)
    rank = len(onp.shape(y))
    axis = axis % rank
    n = _known_length(y, axis, "ops.trapezoid")
    widths = np.diff(_array(x)) if x is not None else np.full(n - 1, float(dx))
    widths = widths.astype("float32").reshape([n - 1 if k == axis else 1 for k in range(rank)])
    ends = onp.take(y, np.arange(1, n), axis=axis) + onp.take(y, np.arange(n - 1), axis=axis)
    return onp.sum(ends * widths, axis=axis) / 2.0


def psnr(x1, x2, max_val):
    """The peak signal-to-noise ratio of two images, in dB: `20 log10(max_val) - 10
    log10(mean squared error)`, one value over everything."""
    if not is_symbolic(x1, x2):
        a, b = _float_array(x1), _float_array(x2)
        mse = np.mean(np.square(a - b))
        return np.asarray(20 * np.log10(max_val) - 10 * np.log10(mse), dtype=a.dtype)
    mse = onp.mean(onp.square(x1 - x2))
    return 20.0 * math.log10(max_val) - 10.0 * onp.log10(mse)


def cdist(x, y):
    """The Euclidean distances between the rows of `x` (…, n, d) and of `y` (…, m, d)."""
    if not is_symbolic(x, y):
        a, b = _float_array(x), _float_array(y)
        return np.sqrt(np.sum(np.square(a[..., :, None, :] - b[..., None, :, :]), -1))
    difference = onp.expand_dims(x, -2) - onp.expand_dims(y, -3)
    return onp.sqrt(onp.sum(onp.square(difference), axis=-1))


def multi_hot(inputs, num_classes=None, axis=-1, dtype=None, sparse=False, **kwargs):
    """1 at every class id of a sample's integer ids (the last axis), else 0."""
    if sparse:
        raise ValueError("ops.multi_hot: sparse=True is not supported")
    num_classes = kwargs.pop("num_tokens", num_classes)
    if num_classes is None:
        raise ValueError("ops.multi_hot needs num_classes")
    if axis != -1:
        raise ValueError("ops.multi_hot: only axis=-1 is supported")
    hot = (
        onp.one_hot(inputs, int(num_classes))
        if is_symbolic(inputs)
        else np.eye(int(num_classes), dtype="float32")[_array(inputs).astype(np.int64)]
    )
    return onp.max(hot, axis=-2) if len(onp.shape(inputs)) > 1 else onp.max(hot, axis=0)


def depth_to_space(x, block_size, data_format="channels_last"):
    """Channels moved into blocks of `block_size` x `block_size` pixels (channels last:
    (n, h, w, c * b * b) -> (n, h * b, w * b, c))."""
    if data_format != "channels_last":
        raise ValueError("ops.depth_to_space: only data_format='channels_last' is supported")
    n, h, w, c = onp.shape(x)
    b = int(block_size)
    batch = -1 if n is None else n
    blocks = onp.reshape(x, (batch, h, w, b, b, c // (b * b)))
    return onp.reshape(onp.transpose(blocks, (0, 1, 3, 2, 4, 5)),
                       (batch, h * b, w * b, c // (b * b)))  # fmt: skip


def space_to_depth(x, block_size, data_format="channels_last"):
    """Blocks of `block_size` x `block_size` pixels moved into channels (the inverse of
    depth_to_space)."""
    if data_format != "channels_last":
        raise ValueError("ops.space_to_depth: only data_format='channels_last' is supported")
    n, h, w, c = onp.shape(x)
    b = int(block_size)
    batch = -1 if n is None else n
    blocks = onp.reshape(x, (batch, h // b, b, w // b, b, c))
    return onp.reshape(onp.transpose(blocks, (0, 1, 3, 2, 4, 5)),
                       (batch, h // b, w // b, c * b * b))  # fmt: skip


def extract_sequences(x, sequence_length, sequence_stride):
    """Frames of `sequence_length` values every `sequence_stride` along the last axis:
    (..., n) -> (..., frames, sequence_length)."""
    rank = len(onp.shape(x))
    n = _known_length(x, rank - 1, "ops.extract_sequences")
    frames = 1 + (n - int(sequence_length)) // int(sequence_stride)
    if frames < 1:
        raise ValueError(f"ops.extract_sequences: {sequence_length} values do not fit in {n}")
    positions = (np.arange(frames)[:, None] * int(sequence_stride)
                 + np.arange(int(sequence_length))[None, :])  # fmt: skip
    if not is_symbolic(x):
        return _array(x)[..., positions]
    return onp.take(x, positions, axis=rank - 1)


def saturate_cast(x, dtype):
    """`x` cast to `dtype`, values first clipped to the dtype's range."""
    target = np.dtype(dtype)
    if target.kind in "iu":
        info = np.iinfo(target)
        return onp.cast(onp.clip(x, float(info.min), float(info.max)), str(target))
    return onp.cast(x, str(target))


def diagflat(x, k=0):
    """The flattened `x` on the `k` diagonal of a square matrix."""
    return diag(onp.reshape(x, (-1,)), k=k)


def dsplit(x, indices_or_sections):
    """`x` split along axis 2."""
    return onp.split(x, indices_or_sections, axis=2)


def dtype(x) -> str:
    """The dtype's name ("float32", ...)."""
    if is_symbolic(x):
        return symbolic.dtype_of(x)
    return str(_array(x).dtype)
