"""`keras.ops` that compute on arrays only: their output's shape depends on the values
(`nonzero`, `unique`, `histogram`), they make constants (window functions, `vander`,
`empty`), or they work on integers bit by bit. Each is NumPy's function with Keras's result
dtype; on a symbolic tensor each raises a ValueError that says so."""

from __future__ import annotations

import numpy as np

from eigennet import config
from eigennet.ops.numpy import _array
from eigennet.ops.symbolic import is_symbolic


def _arrays(name: str, *xs):
    if is_symbolic(*xs):
        raise ValueError(
            f"ops.{name} computes on arrays only (its result depends on the values or is a "
            "constant): call it on NumPy arrays, outside a model"
        )
    return [_array(x) for x in xs]


def _float(dtype):
    return config.floatx() if dtype is None else str(np.dtype(dtype))


def _window(name: str, numpy_fn):
    def op(x):
        return numpy_fn(int(x)).astype(config.floatx())

    op.__name__ = name
    op.__doc__ = f"NumPy's `{name}` window of `x` points."
    return op


bartlett = _window("bartlett", np.bartlett)
blackman = _window("blackman", np.blackman)
hamming = _window("hamming", np.hamming)
hanning = _window("hanning", np.hanning)


def kaiser(x, beta):
    """The Kaiser window of `x` points and shape `beta`."""
    return np.kaiser(int(x), float(beta)).astype(config.floatx())


def empty(shape, dtype=None):
    """A tensor of `shape` (zeros, as Keras's backends give)."""
    return np.zeros(shape, dtype=_float(dtype))


def vander(x, N=None, increasing=False):  # noqa: N803 (Keras's name)
    """The Vandermonde matrix of the 1-D `x`."""
    (a,) = _arrays("vander", x)
    return np.vander(a, N, increasing)


def nonzero(x):
    """The indices of the nonzero values, one int32 array per axis."""
    (a,) = _arrays("nonzero", x)
    return tuple(i.astype("int32") for i in np.nonzero(a))


def unique(x, sorted=True, return_index=False, return_inverse=False, return_counts=False,
           axis=None, size=None, fill_value=None):  # noqa: A002 (Keras's names)  # fmt: skip
    """The distinct values (sorted), with the first indices, inverse indices and counts when
    asked; `size` pads (with `fill_value`, else the smallest value) or cuts the values (and
    counts) to that length."""
    (a,) = _arrays("unique", x)
    found = np.unique(a, return_index=return_index, return_inverse=return_inverse,
                      return_counts=return_counts, axis=axis)  # fmt: skip
    parts = list(found) if isinstance(found, tuple) else [found]
    if size is not None:
        values = parts[0]
        pad = values.min() if fill_value is None and len(values) else fill_value
        padded = np.full((size, *values.shape[1:]), pad if pad is not None else 0, values.dtype)
        padded[: min(size, len(values))] = values[:size]
        parts[0] = padded
        if return_counts:
            counts = np.zeros(size, dtype=parts[-1].dtype)
            counts[: min(size, len(parts[-1]))] = parts[-1][:size]
            parts[-1] = counts
    return parts[0] if len(parts) == 1 else tuple(parts)


def histogram(x, bins=10, range=None):  # noqa: A002 (Keras's name)
    """(counts, bin edges) of the values of 1-D `x`."""
    (a,) = _arrays("histogram", x)
    counts, edges = np.histogram(a, bins=bins, range=range)
    dtype = a.dtype if a.dtype.kind == "f" else "float32"
    return counts.astype(dtype), edges.astype(dtype)  # (Keras's counts are floats too)


def unravel_index(indices, shape):
    """The coordinates of flat `indices` in an array of `shape`, one int32 array per axis."""
    (a,) = _arrays("unravel_index", indices)
    return tuple(i.astype("int32") for i in np.unravel_index(a, shape))


def _integers(name: str, numpy_fn):
    def op(x, y):
        a, b = _arrays(name, x, y)
        if a.dtype.kind not in "biu" or b.dtype.kind not in "biu":
            raise TypeError(
                f"ops.{name} takes integer or boolean tensors, got {a.dtype}, {b.dtype}"
            )
        return numpy_fn(a, b)

    op.__name__ = name
    op.__doc__ = f"NumPy's `{name}` of integer (or boolean) tensors."
    return op


bitwise_and = _integers("bitwise_and", np.bitwise_and)
bitwise_or = _integers("bitwise_or", np.bitwise_or)
bitwise_xor = _integers("bitwise_xor", np.bitwise_xor)
bitwise_left_shift = left_shift = _integers("left_shift", np.left_shift)
bitwise_right_shift = right_shift = _integers("right_shift", np.right_shift)
gcd = _integers("gcd", np.gcd)
lcm = _integers("lcm", np.lcm)


def bitwise_invert(x):
    """The bits of an integer (or boolean) tensor flipped."""
    (a,) = _arrays("bitwise_invert", x)
    if a.dtype.kind not in "biu":
        raise TypeError(f"ops.bitwise_invert takes an integer or boolean tensor, got {a.dtype}")
    return np.invert(a)


bitwise_not = bitwise_invert


def correlate(x1, x2, mode="valid"):
    """The cross-correlation of two 1-D tensors."""
    a, b = _arrays("correlate", x1, x2)
    return np.correlate(a, b, mode=mode).astype(np.result_type(a.dtype, b.dtype, np.float32))


def corrcoef(x):
    """Pearson correlation coefficients of the rows of `x`."""
    (a,) = _arrays("corrcoef", x)
    return np.corrcoef(a).astype(a.dtype if a.dtype.kind == "f" else "float32")


def i0(x):
    """The modified Bessel function of the first kind, order 0."""
    (a,) = _arrays("i0", x)
    return np.i0(a).astype(a.dtype if a.dtype.kind == "f" else "float32")


def nextafter(x1, x2):
    """The next float after x1 toward x2."""
    a, b = _arrays("nextafter", x1, x2)
    dtype = np.result_type(a.dtype, b.dtype, np.float32)
    return np.nextafter(a.astype(dtype), b.astype(dtype))


def array_split(x, indices_or_sections, axis=0):
    """`x` cut along `axis` into sections of sizes differing by at most one."""
    (a,) = _arrays("array_split", x)
    return np.array_split(a, indices_or_sections, axis=axis)


def _segments(name: str, data, segment_ids, num_segments, numpy_fn, fill):
    a, ids = _arrays(name, data, segment_ids)
    ids = ids.astype(np.int64)
    n = int(ids.max(initial=-1)) + 1 if num_segments is None else int(num_segments)
    out = np.full((n, *a.shape[1:]), fill, dtype=a.dtype if a.dtype.kind == "f" else "float32")
    inside = (ids >= 0) & (ids < n)
    numpy_fn.at(out, ids[inside], a[inside])
    return out


def segment_sum(data, segment_ids, num_segments=None, sorted=False):  # noqa: A002
    """The sum of the rows of each segment id."""
    return _segments("segment_sum", data, segment_ids, num_segments, np.add, 0)


def segment_max(data, segment_ids, num_segments=None, sorted=False):  # noqa: A002
    """The maximum of the rows of each segment id (the dtype's lowest for an empty one)."""
    return _segments("segment_max", data, segment_ids, num_segments, np.maximum, -np.inf)


def segment_min(data, segment_ids, num_segments=None, sorted=False):  # noqa: A002
    """The minimum of the rows of each segment id (the dtype's highest for an empty one)."""
    return _segments("segment_min", data, segment_ids, num_segments, np.minimum, np.inf)


def segment_prod(data, segment_ids, num_segments=None, sorted=False):  # noqa: A002
    """The product of the rows of each segment id."""
    return _segments("segment_prod", data, segment_ids, num_segments, np.multiply, 1)


def nanquantile(x, q, axis=None, method="linear", keepdims=False):
    """The q-th quantile along `axis`, NaN values left out."""
    (a,) = _arrays("nanquantile", x)
    a = a if a.dtype.kind == "f" else a.astype("float32")
    return np.nanquantile(a, q, axis=axis, method=method, keepdims=keepdims).astype(a.dtype)


def nanpercentile(x, q, axis=None, method="linear", keepdims=False):
    """The q-th percentile along `axis`, NaN values left out."""
    return nanquantile(x, np.asarray(q, dtype=np.float64) / 100.0, axis, method, keepdims)


def nanmedian(x, axis=None, keepdims=False):
    """The median along `axis`, NaN values left out."""
    return nanquantile(x, 0.5, axis, "linear", keepdims)
