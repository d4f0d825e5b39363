"""NumPy-like `keras.ops` written in terms of the native ones: cube roots, angles, infinities,
NaN-aware reductions, flips and rolls, differences, stacks and comparisons.

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


def trace(x, offset=0, axis1=0, axis2=1):
    """The sum along the `offset` diagonal of the planes of axes `axis1` and `axis2`."""
    if not is_symbolic(x):
        return np.trace(_array(x), offset=offset, axis1=axis1, axis2=axis2)
    rank = len(onp.shape(x))
    axis1, axis2 = axis1 % rank, axis2 % rank
    rows = _known_length(x, axis1, "ops.trace")
    cols = _known_length(x, axis2, "ops.trace")
    mask = np.eye(rows, cols, offset, dtype="float32")
    mask = mask.reshape([rows if k == axis1 else cols if k == axis2 else 1 for k in range(rank)])
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
