"""`keras.ops`' NumPy-like functions: element-wise, reductions, linear algebra, shapes and
creation.

On arrays (and weights outside a traced call) each computes at once with NumPy and returns an
array; on symbolic tensors it records a native op (see `symbolic`), so that a model using it
trains with no Python per batch. The two paths agree (the test suite checks every op both
ways).
"""

from __future__ import annotations

import builtins
import math

import numpy as np

from eigennet import config
from eigennet.layers.keras_tensor import KerasTensor
from eigennet.ops import symbolic
from eigennet.ops.symbolic import is_symbolic, record
from eigennet.ops.variable_length import VariableLength, as_none


def _array(x) -> np.ndarray:
    """An eager operand as an array; Python numbers become floatx (Keras's rule)."""
    if isinstance(x, (bool, int, float)) and not isinstance(x, np.generic):
        return np.asarray(x, dtype=config.floatx() if isinstance(x, float) else None)
    return np.asarray(x)


def _axes(axis, ndim: int, what: str) -> list[int]:
    """`axis` (None, an int or a sequence) as sorted non-negative axes (None: all)."""
    if axis is None:
        return list(range(ndim))
    axes = [axis] if isinstance(axis, (int, np.integer)) else list(axis)
    out = []
    for a in axes:
        if not -ndim <= int(a) < ndim:
            raise ValueError(f"{what}: axis {a} is out of range for a tensor of rank {ndim}")
        out.append(int(a) % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"{what}: repeated axis in {axis}")
    return sorted(out)


def _axis(axis: int, ndim: int, what: str) -> int:
    return _axes(int(axis), ndim, what)[0]


# -- element-wise, one operand ---------------------------------------------------------------
def _unary(name: str, numpy_fn, kind: str | None = None, alpha: float = 0.0, beta: float = 0.0):
    def op(x):
        if type(x) is np.ndarray:  # eager, without the checks
            return numpy_fn(x)
        if is_symbolic(x):
            return record(name, "UnaryOp", [x], kind or name, float(alpha), float(beta))
        return numpy_fn(_array(x))

    op.__name__ = name
    op.__doc__ = f"Element-wise `{name}(x)`."
    return op


def _erf(x):
    return np.vectorize(math.erf, otypes=[x.dtype if x.dtype.kind == "f" else "float64"])(x)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _softplus(x):
    return np.logaddexp(0, x).astype(np.result_type(x, np.float32))


negative = _unary("negative", np.negative)
absolute = abs = _unary("absolute", np.abs, "abs")
square = _unary("square", np.square)
sqrt = _unary("sqrt", np.sqrt)
rsqrt = _unary("rsqrt", lambda x: 1 / np.sqrt(x))
reciprocal = _unary("reciprocal", np.reciprocal)
exp = _unary("exp", np.exp)
log = _unary("log", np.log)
log1p = _unary("log1p", np.log1p)
expm1 = _unary("expm1", np.expm1)
sin = _unary("sin", np.sin)
cos = _unary("cos", np.cos)
tanh = _unary("tanh", np.tanh)
sign = _unary("sign", np.sign)
floor = _unary("floor", np.floor)
ceil = _unary("ceil", np.ceil)
erf = _unary("erf", _erf)
logical_not = _unary("logical_not", np.logical_not)
isnan = _unary("isnan", np.isnan)
isfinite = _unary("isfinite", np.isfinite)
tan = _unary("tan", np.tan)
arcsin = _unary("arcsin", np.arcsin)
arccos = _unary("arccos", np.arccos)
arctan = _unary("arctan", np.arctan)
sinh = _unary("sinh", np.sinh)
cosh = _unary("cosh", np.cosh)
arcsinh = _unary("arcsinh", np.arcsinh)
arccosh = _unary("arccosh", np.arccosh)
arctanh = _unary("arctanh", np.arctanh)
log2 = _unary("log2", np.log2)
log10 = _unary("log10", np.log10)
exp2 = _unary("exp2", np.exp2)
trunc = _unary("trunc", np.trunc)


def round(x, decimals: int = 0):  # noqa: A001 (Keras's name)
    """Rounds half to even, as NumPy (Keras's `ops.round`)."""
    if decimals != 0:
        raise ValueError("ops.round: only decimals=0 is supported")
    if is_symbolic(x):
        return record("round", "UnaryOp", [x], "round", 0.0, 0.0)
    return np.round(_array(x))


def clip(x, x_min, x_max):
    """`x` limited to [x_min, x_max] (numbers)."""
    if is_symbolic(x):
        return record("clip", "UnaryOp", [x], "clip", float(x_min), float(x_max))
    return np.clip(_array(x), x_min, x_max)


def cast(x, dtype):
    """`x` as `dtype`. A symbolic tensor keeps its graph's float dtype and takes the values
    the cast gives: integers round toward zero (as NumPy's astype), bool is 0 or 1."""
    name = str(np.dtype(dtype))
    if is_symbolic(x):
        if name.startswith(("int", "uint")):
            return multiply(sign(x), floor(absolute(x)))
        if name == "bool":
            return not_equal(x, 0.0)
        return x  # another float dtype: the graph computes in one
    return _array(x).astype(name)


# -- element-wise, two operands (NumPy broadcasting) ---------------------------------------
def _binary(name: str, numpy_fn, kind: str | None = None):
    def op(x1, x2):
        if type(x1) is np.ndarray and type(x2) is np.ndarray:  # eager, without the checks
            return numpy_fn(x1, x2)
        if is_symbolic(x1, x2):
            return record(name, "BinaryOp", [x1, x2], kind or name)
        return numpy_fn(_array(x1), _array(x2))

    op.__name__ = name
    op.__doc__ = f"Element-wise `{name}(x1, x2)` with broadcasting."
    return op


add = _binary("add", np.add)
subtract = _binary("subtract", np.subtract)
multiply = _binary("multiply", np.multiply)
divide = true_divide = _binary("divide", np.true_divide)
power = _binary("power", np.power)
maximum = _binary("maximum", np.maximum)
minimum = _binary("minimum", np.minimum)
floor_divide = _binary("floor_divide", np.floor_divide)
mod = _binary("mod", np.mod)
equal = _binary("equal", np.equal)
not_equal = _binary("not_equal", np.not_equal)
less = _binary("less", np.less)
less_equal = _binary("less_equal", np.less_equal)
greater = _binary("greater", np.greater)
greater_equal = _binary("greater_equal", np.greater_equal)
logical_and = _binary("logical_and", np.logical_and)
logical_or = _binary("logical_or", np.logical_or)
logical_xor = _binary("logical_xor", np.logical_xor)
arctan2 = _binary("arctan2", np.arctan2)


def where(condition, x1=None, x2=None):
    """`x1` where `condition` holds, else `x2`, with broadcasting."""
    if x1 is None or x2 is None:
        raise ValueError("ops.where needs x1 and x2 (the one-argument form is not supported)")
    if is_symbolic(condition, x1, x2):
        return record("where", "WhereOp", [condition, x1, x2])
    return np.where(_array(condition), _array(x1), _array(x2))


# -- reductions ----------------------------------------------------------------------------
def _reduce(name: str, numpy_fn, kind: str | None = None):
    def op(x, axis=None, keepdims: bool = False):
        if is_symbolic(x):
            t = symbolic.operand(x, symbolic.dtype_of(x))
            axes = _axes(axis, len(t.shape), f"ops.{name}")
            return record(name, "ReduceOp", [t], kind or name, axes, bool(keepdims))
        return numpy_fn(_array(x), axis=_tuple_axis(axis), keepdims=keepdims)

    op.__name__ = name
    op.__doc__ = f"`{name}` over `axis` (all axes when None)."
    return op


def _tuple_axis(axis):
    return tuple(axis) if isinstance(axis, list) else axis


def _logsumexp(x, axis=None, keepdims=False):
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis if axis is not None else None)


def _norm2(x, axis=None, keepdims=False):
    return np.sqrt(np.sum(np.square(x), axis=axis, keepdims=keepdims))


sum = _reduce("sum", np.sum)  # noqa: A001
mean = _reduce("mean", np.mean)
max = amax = _reduce("max", np.max)  # noqa: A001
min = amin = _reduce("min", np.min)  # noqa: A001
prod = _reduce("prod", np.prod)
var = _reduce("var", np.var)
std = _reduce("std", np.std)
logsumexp = _reduce("logsumexp", _logsumexp)
all = _reduce("all", np.all)  # noqa: A001
any = _reduce("any", np.any)  # noqa: A001


def norm(x, ord=None, axis=None, keepdims: bool = False):  # noqa: A002 (Keras's name)
    """The Euclidean (Frobenius) norm over `axis`."""
    if ord not in (None, 2, "fro", "euclidean"):
        raise ValueError(f"ops.norm: ord={ord!r} is not supported (the 2-norm is)")
    if is_symbolic(x):
        t = symbolic.operand(x, symbolic.dtype_of(x))
        return record("norm", "ReduceOp", [t], "norm", _axes(axis, len(t.shape), "ops.norm"),
                      bool(keepdims))  # fmt: skip
    return _norm2(_array(x), axis=_tuple_axis(axis), keepdims=keepdims)


def _arg(name: str, numpy_fn):
    def op(x, axis=None, keepdims: bool = False):
        if is_symbolic(x):
            t = symbolic.operand(x, symbolic.dtype_of(x))
            if axis is None:
                t, axis = reshape(t, (-1,) if not t.batched else (None, -1)), -1
            axes = _axes(axis, len(t.shape), f"ops.{name}")
            return record(name, "ReduceOp", [t], name, axes, bool(keepdims))
        a = _array(x)
        out = numpy_fn(a, axis=axis, keepdims=keepdims)
        return out.astype("int32")

    op.__name__ = name
    op.__doc__ = f"The index of the {name[3:]}imum along `axis`."
    return op


argmax = _arg("argmax", np.argmax)
argmin = _arg("argmin", np.argmin)


def cumsum(x, axis=None, dtype=None):
    """Cumulative sum along `axis` (over the flattened tensor when None)."""
    return _cumulative("cumsum", np.cumsum, x, axis)


def cumprod(x, axis=None, dtype=None):
    """Cumulative product along `axis` (over the flattened tensor when None)."""
    return _cumulative("cumprod", np.cumprod, x, axis)


def _cumulative(name, numpy_fn, x, axis):
    if is_symbolic(x):
        t = symbolic.operand(x, symbolic.dtype_of(x))
        if axis is None:
            t, axis = reshape(t, (-1,) if not t.batched else (None, -1)), -1
        return record(name, "CumulativeOp", [t], name, _axis(axis, len(t.shape), f"ops.{name}"))
    return numpy_fn(_array(x), axis=axis)


# -- linear algebra --------------------------------------------------------------------------
def matmul(x1, x2):
    """The matrix product, as NumPy's matmul (batched over leading axes, broadcast)."""
    if is_symbolic(x1, x2):
        return record("matmul", "MatMulOp", [x1, x2])
    return np.matmul(_array(x1), _array(x2))


def dot(x1, x2):
    """NumPy's dot: the matrix product for rank <= 2, else a sum over x1's last and x2's
    second-to-last axis."""
    if is_symbolic(x1, x2):
        a, b = (symbolic.operand(x, symbolic.dtype_of(x1, x2)) for x in (x1, x2))
        if len(a.shape) == 0 or len(b.shape) == 0:
            return multiply(a, b)
        if len(b.shape) <= 2:
            return matmul(a, b)
        return tensordot(a, b, axes=([len(a.shape) - 1], [len(b.shape) - 2]))
    return np.dot(_array(x1), _array(x2))


def tensordot(x1, x2, axes=2):
    """The sum of products over `axes` (an int: the last axes of x1 and first of x2; or two
    lists of axes), as NumPy's tensordot."""
    if not is_symbolic(x1, x2):
        return np.tensordot(_array(x1), _array(x2), axes=axes)
    dtype = symbolic.dtype_of(x1, x2)
    a, b = symbolic.operand(x1, dtype), symbolic.operand(x2, dtype)
    ra, rb = len(a.shape), len(b.shape)
    if isinstance(axes, (int, np.integer)):
        axes_a, axes_b = list(range(ra - axes, ra)), list(range(int(axes)))
    else:
        axes_a, axes_b = ([x] if isinstance(x, int) else list(x) for x in axes)
    axes_a = [x % ra for x in axes_a]
    axes_b = [x % rb for x in axes_b]
    letters = iter("abcdefghijklmnopqrstuvwxyz")
    sa = [next(letters) for _ in range(ra)]
    sb = [next(letters) for _ in range(rb)]
    for i, j in zip(axes_a, axes_b):
        sb[j] = sa[i]
    out = [c for i, c in enumerate(sa) if i not in axes_a] + [
        c for j, c in enumerate(sb) if j not in axes_b
    ]
    # The batch axes contracted together (keras-io's recommender: tensordot(u, v, 2) of two
    # (batch, d) tensors): the per-sample products, then their sum over the batch.
    batch_pair = 0 in axes_a and axes_b[axes_a.index(0)] == 0 and a.batched and b.batched
    if batch_pair:
        out = [sa[0], *out]
    result = einsum(f"{''.join(sa)},{''.join(sb)}->{''.join(out)}", a, b)
    return sum(result, axis=0) if batch_pair else result


def einsum(subscripts: str, *operands):
    """Einstein summation of two operands (one operand: NumPy only)."""
    if is_symbolic(*operands):
        if len(operands) != 2:
            raise ValueError(
                f"ops.einsum on symbolic tensors takes two operands, got {len(operands)}"
            )
        return record("einsum", "EinsumOp", list(operands), subscripts)
    return np.einsum(subscripts, *[_array(x) for x in operands])


# -- shapes ----------------------------------------------------------------------------------
def shape(x) -> tuple:
    """The shape as a tuple: on a symbolic tensor None for its batch axis, and for an axis of
    variable length None too, or inside a traced call() (where Keras's torch backend gives a
    placeholder length) its `VariableLength` (positions with `ops.arange`, a scalar in ops)."""
    if isinstance(x, KerasTensor) and symbolic.tracing_layer() is not None:
        first = 1 if x.batched else 0
        return tuple(
            VariableLength(x, i) if d is None and i >= first else d for i, d in enumerate(x.shape)
        )
    if hasattr(x, "shape"):
        return tuple(x.shape)
    return np.shape(x)


def ndim(x) -> int:
    return len(shape(x))


def size(x):
    """The number of elements (on a symbolic tensor with a batch axis: a tensor, as it
    depends on the batch size)."""
    if is_symbolic(x):
        return sum(ones_like(x))
    return int(np.size(_array(x)))


def _target_shape(t, new_shape) -> list[int]:
    """A symbolic reshape's target as a full shape (-1 for the batch axis): a leading None,
    or the batch size left to -1, keeps the batch axis; one other -1 is inferred."""
    new_shape = [new_shape] if isinstance(new_shape, (int, np.integer)) else list(new_shape)
    rest = list(t.shape[1:]) if t.batched else list(t.shape)
    if None in rest:  # a variable axis: the native op infers one axis per batch (-2)
        return _variable_target_shape(t, new_shape)
    total = math.prod(rest)
    if t.batched:
        if not new_shape or new_shape[0] not in (None, -1):
            raise ValueError(
                f"ops.reshape: cannot reshape {t.shape} to {tuple(new_shape)}: the batch axis "
                "must stay the first axis (write None or -1 there)"
            )
        new_shape = new_shape[1:]
    if builtins.any(d is None for d in new_shape):
        raise ValueError(f"ops.reshape: only the first axis may be None, got {new_shape}")
    unknown = [i for i, d in enumerate(new_shape) if d == -1]
    if len(unknown) > 1:
        raise ValueError(f"ops.reshape: only one axis may be -1, got {new_shape}")
    if unknown:
        known = math.prod(d for d in new_shape if d != -1)
        if known == 0 or total % known:
            raise ValueError(f"ops.reshape: cannot reshape {t.shape} to {tuple(new_shape)}")
        new_shape[unknown[0]] = total // known
    return ([-1] if t.batched else []) + [int(d) for d in new_shape]


def _input_length(axis: int) -> int:
    """A reshape's or broadcast's target entry standing for the length of the input's axis
    `axis`, one of variable length (kInputAxis in ops/op.hpp)."""
    return -3 - axis


def _variable_target_shape(t, new_shape) -> list[int]:
    """`_target_shape` for a tensor with an axis of variable length: the target's one None
    or -1 (besides a leading batch axis) becomes the axis the native op infers."""
    if t.batched:
        if not new_shape or new_shape[0] not in (None, -1):
            raise ValueError(
                f"ops.reshape: cannot reshape {t.shape} to {tuple(new_shape)}: the batch axis "
                "must stay the first axis (write None or -1 there)"
            )
        new_shape = new_shape[1:]
    unknown = [i for i, d in enumerate(new_shape) if d is None or d == -1]
    variable = [a for a, d in enumerate(t.shape) if d is None and not (t.batched and a == 0)]
    fixed_in = [
        d
        for a, d in enumerate(t.shape)
        if a not in variable and d != 1 and not (t.batched and a == 0)
    ]
    fixed_out = [d for d in new_shape if d not in (1, None, -1)]
    if len(unknown) == len(variable) > 1 and fixed_in == fixed_out:
        # size-1 axes come or go around the variable ones: each keeps its input axis's length
        axes = iter(variable)
        target = [
            _input_length(next(axes)) if i in unknown else int(d) for i, d in enumerate(new_shape)
        ]
        return ([-1] if t.batched else []) + target
    if len(unknown) != 1:
        raise ValueError(
            f"ops.reshape: {t.shape} has an axis of variable length, so the target "
            f"{tuple(new_shape)} needs exactly one axis of unknown length (None or -1)"
        )
    target = [-2 if i == unknown[0] else int(d) for i, d in enumerate(new_shape)]
    return ([-1] if t.batched else []) + target


def reshape(x, newshape):
    """The same elements in shape `newshape` (one axis may be -1)."""
    newshape = as_none(newshape)
    if type(x) is np.ndarray and type(newshape) is tuple and None not in newshape:
        return x.reshape(newshape)  # the common eager case, without the checks' overhead
    if is_symbolic(x):
        t = symbolic.operand(x, symbolic.dtype_of(x))
        return record("reshape", "ReshapeOp", [t], _target_shape(t, newshape))
    if not isinstance(newshape, (int, np.integer)) and None in newshape:
        newshape = tuple(-1 if d is None else d for d in newshape)
    return np.reshape(_array(x), newshape)


def expand_dims(x, axis):
    """`x` with new axes of size 1 at `axis` (an int or a sequence)."""
    if is_symbolic(x):
        t = symbolic.operand(x, symbolic.dtype_of(x))
        axes = [axis] if isinstance(axis, (int, np.integer)) else list(axis)
        out_rank = len(t.shape) + len(axes)
        axes = sorted(a % out_rank for a in axes)
        if t.batched and 0 in axes:
            raise ValueError("ops.expand_dims: cannot add an axis before the batch axis")
        new, it = [], iter(t.shape)
        for i in range(out_rank):
            new.append(1 if i in axes else next(it))
        return reshape(t, new)
    return np.expand_dims(_array(x), axis)


def squeeze(x, axis=None):
    """`x` without its axes of size 1 (or only `axis`)."""
    if is_symbolic(x):
        t = symbolic.operand(x, symbolic.dtype_of(x))
        first = 1 if t.batched else 0
        if axis is None:
            axes = [i for i in range(first, len(t.shape)) if t.shape[i] == 1]
        else:
            axes = _axes(axis, len(t.shape), "ops.squeeze")
            for a in axes:
                if a < first or t.shape[a] != 1:
                    raise ValueError(f"ops.squeeze: axis {a} of {t.shape} does not have size 1")
        return reshape(t, [d for i, d in enumerate(t.shape) if i not in axes])
    return np.squeeze(_array(x), axis=_tuple_axis(axis))


def flatten(x):
    """`x` as one axis (ravel)."""
    if is_symbolic(x):
        t = symbolic.operand(x, symbolic.dtype_of(x))
        if t.batched:
            raise ValueError(
                "ops.flatten would merge the batch axis; use ops.reshape(x, (None, -1))"
            )
        return reshape(t, (-1,))
    return np.ravel(_array(x))


ravel = flatten


def transpose(x, axes=None):
    """`x` with its axes permuted (reversed when `axes` is None)."""
    if type(x) is np.ndarray:
        return x.transpose(axes)
    if is_symbolic(x):
        t = symbolic.operand(x, symbolic.dtype_of(x))
        rank = len(t.shape)
        perm = list(range(rank))[::-1] if axes is None else [int(a) % rank for a in axes]
        return record("transpose", "TransposeOp", [t], perm)
    return np.transpose(_array(x), axes)


def swapaxes(x, axis1: int, axis2: int):
    rank = ndim(x)
    perm = list(range(rank))
    perm[axis1 % rank], perm[axis2 % rank] = perm[axis2 % rank], perm[axis1 % rank]
    return transpose(x, perm)


def moveaxis(x, source, destination):
    rank = ndim(x)
    perm = [i for i in range(rank) if i != source % rank]
    perm.insert(destination % rank, source % rank)
    return transpose(x, perm)


def concatenate(xs, axis: int = 0):
    """The tensors of `xs` joined along `axis` (0 by default, as Keras)."""
    xs = list(xs)
    if is_symbolic(*xs):
        dtype = symbolic.dtype_of(*xs)
        tensors = [symbolic.operand(x, dtype) for x in xs]
        rank = len(tensors[0].shape)
        return record("concatenate", "ConcatenateOp", tensors,
                      _axis(axis, rank, "ops.concatenate"), as_list=True)  # fmt: skip
    return np.concatenate([_array(x) for x in xs], axis=axis)


def stack(xs, axis: int = 0):
    """The tensors of `xs` (one shape) stacked along a new axis."""
    xs = list(xs)
    if is_symbolic(*xs):
        rank = len(shape(xs[0])) + 1
        return concatenate([expand_dims(x, axis % rank) for x in xs], axis=axis % rank)
    return np.stack([_array(x) for x in xs], axis=axis)


def split(x, indices_or_sections, axis: int = 0):
    """`x` cut along `axis` into equal sections, or at `indices`."""
    if not is_symbolic(x):
        return np.split(_array(x), indices_or_sections, axis=axis)
    t = symbolic.operand(x, symbolic.dtype_of(x))
    axis = _axis(axis, len(t.shape), "ops.split")
    n = t.shape[axis]
    if isinstance(indices_or_sections, (int, np.integer)):
        if n is None or n % indices_or_sections:
            raise ValueError(f"ops.split: axis {axis} of {t.shape} does not split in "
                             f"{indices_or_sections} equal sections")  # fmt: skip
        step = n // indices_or_sections
        cuts = [i * step for i in range(1, int(indices_or_sections))]
    else:
        cuts = [int(i) for i in indices_or_sections]
    bounds = [0, *cuts, n]
    return [_slice_axis(t, axis, a, b) for a, b in zip(bounds[:-1], bounds[1:])]


def unstack(x, num=None, axis: int = 0):
    parts = split(x, shape(x)[axis], axis=axis)
    return [squeeze(p, axis=axis) for p in parts]


def _slice_axis(t, axis: int, start: int, stop: int):
    starts = [0] * len(t.shape)
    stops = [-1 if d is None else d for d in t.shape]
    starts[axis], stops[axis] = start, stop
    return record("slice", "SliceOp", [t], starts, stops, [1] * len(t.shape))


def repeat(x, repeats: int, axis=None):
    """Each element repeated `repeats` times along `axis`."""
    if is_symbolic(x):
        t = symbolic.operand(x, symbolic.dtype_of(x))
        if axis is None:
            t, axis = flatten(t), 0
        if not isinstance(repeats, (int, np.integer)):
            raise ValueError("ops.repeat on a symbolic tensor takes an int `repeats`")
        return record(
            "repeat", "RepeatOp", [t], int(repeats), _axis(axis, len(t.shape), "ops.repeat")
        )
    return np.repeat(_array(x), repeats, axis=axis)


def tile(x, repeats):
    """`x` repeated `repeats` times along each axis. Inside a traced call(), a repetition of
    None (the batch size `ops.shape(x)[0]` of a symbolic tensor) at axis 0 of an axis of size
    1 repeats `x` over the batch (keras-io's causal masks tiled to the batch)."""
    reps = [repeats] if isinstance(repeats, (int, np.integer)) else list(np.ravel(repeats))
    if builtins.any(r is None for r in reps):
        return _tile_to_batch(x, reps)
    if is_symbolic(x):
        t = symbolic.operand(x, symbolic.dtype_of(x))
        if len(reps) < len(t.shape):
            reps = [1] * (len(t.shape) - len(reps)) + reps
        if len(reps) > len(t.shape):
            t = reshape(t, [1] * (len(reps) - len(t.shape)) + list(t.shape))
        return record("tile", "TileOp", [t], [int(r) for r in reps])
    return np.tile(_array(x), repeats)


def _tile_to_batch(x, reps: list):
    """tile() by the batch size (None at axis 0): the other axes tiled, then axis 0 (of size
    1) broadcast to the batch."""
    rank = len(shape(x))
    if reps[0] is not None or builtins.any(r is None for r in reps[1:]) or len(reps) < rank:
        raise ValueError(
            f"ops.tile: repeats {reps} repeat an axis by an unknown size (None); only axis 0 "
            "may be repeated by the batch size"
        )
    t = x if len(reps) == rank else reshape(x, [1] * (len(reps) - rank) + list(shape(x)))
    t = tile(t, [1, *reps[1:]])
    if shape(t)[0] != 1:
        raise ValueError(
            f"ops.tile: repeating axis 0 of size {shape(t)[0]} by the batch size is not "
            "supported (an axis of size 1 is: it is broadcast to the batch)"
        )
    return broadcast_to(t, (None, *shape(t)[1:]))


def broadcast_to(x, shape):
    """`x` broadcast to `shape` (None or -1 first keeps a batch axis; inside a traced call(),
    also gives an input without one the batch axis of the call's inputs)."""
    batch = len(shape) > 0 and shape[0] in (None, -1)
    if is_symbolic(x) or (batch and symbolic.batch_reference() is not None):
        t = symbolic.operand(x, symbolic.dtype_of(x))
        target = _broadcast_target(t, shape, batch)
        reference = symbolic.batch_reference() if batch and not t.batched else None
        if reference is not None and reference.batched:
            return record("broadcast_to", "BroadcastToOp", [t, reference], target)
        return record("broadcast_to", "BroadcastToOp", [t], target)
    if batch:
        raise ValueError(
            f"ops.broadcast_to: shape {tuple(shape)} has a batch axis (None); outside a "
            "layer's traced call() give a concrete shape"
        )
    return np.broadcast_to(_array(x), shape).copy()


def _broadcast_target(t, shape, batch: bool) -> list[int]:
    """A symbolic broadcast's target: -1 for the batch axis; an axis of unknown length (None,
    or ops.shape's VariableLength) keeps the length of the input's variable axis it aligns
    with (`_input_length`)."""
    offset = len(shape) - len(t.shape)
    target = []
    for i, d in enumerate(shape):
        if i == 0 and batch:
            target.append(-1)
        elif d is None or isinstance(d, VariableLength):
            axis = i - offset
            if axis < 0 or t.shape[axis] is not None or (t.batched and axis == 0):
                raise ValueError(
                    f"ops.broadcast_to: axis {i} of the target {tuple(shape)} has no length, "
                    f"and {t.shape} has no axis of variable length there"
                )
            target.append(_input_length(axis))
        else:
            target.append(int(d))
    return target


def pad(x, pad_width, mode: str = "constant", constant_values=None):
    """`x` padded with `constant_values` (0 by default)."""
    if mode != "constant":
        raise ValueError(f"ops.pad: mode={mode!r} is not supported (constant is)")
    value = 0.0 if constant_values is None else float(constant_values)
    if is_symbolic(x):
        t = symbolic.operand(x, symbolic.dtype_of(x))
        widths = np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (len(t.shape), 2))
        return record("pad", "PadOp", [t], widths.tolist(), value)
    return np.pad(_array(x), pad_width, mode="constant", constant_values=value)


def take(x, indices, axis=None):
    """Elements of `x` at `indices` along `axis` (of the flattened x when None)."""
    if is_symbolic(x, indices):
        dtype = symbolic.dtype_of(x)
        t = symbolic.operand(x, dtype)
        if axis is None:
            t, axis = flatten(t), 0
        return record("take", "TakeOp", [t, indices], _axis(axis, len(t.shape), "ops.take"))
    return np.take(_array(x), np.asarray(indices).astype(np.int64), axis=axis)


def take_along_axis(x, indices, axis=None):
    """Elements of `x` at `indices` (of x's rank) along `axis`."""
    if is_symbolic(x, indices):
        t = symbolic.operand(x, symbolic.dtype_of(x))
        if axis is None:
            t, axis = flatten(t), 0
        return record("take_along_axis", "TakeAlongAxisOp", [t, indices],
                      _axis(axis, len(t.shape), "ops.take_along_axis"))  # fmt: skip
    return np.take_along_axis(_array(x), np.asarray(indices).astype(np.int64), axis=axis)


_TO_THE_END = 2**31 - 1  # a slice's stop past any length (SliceOp clamps it)


def get_item(x, key):
    """`x[key]` with ints, slices (step >= 1), None and `...`."""
    if not is_symbolic(x):
        return _array(x)[key]
    t = symbolic.operand(x, symbolic.dtype_of(x))
    key = key if isinstance(key, tuple) else (key,)
    if builtins.sum(k is Ellipsis for k in key) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    used = builtins.sum(k is not None and k is not Ellipsis for k in key)
    if used > len(t.shape):
        raise IndexError(f"too many indices for a tensor of shape {t.shape}")
    if Ellipsis in key:
        i = key.index(Ellipsis)
        key = key[:i] + (builtins.slice(None),) * (len(t.shape) - used) + key[i + 1 :]
    key = key + (builtins.slice(None),) * (len(t.shape) - builtins.sum(k is not None for k in key))
    starts, stops, steps, out_shape = [], [], [], []
    axis = 0
    for k in key:
        if k is None:
            out_shape.append(1)
            continue
        n = t.shape[axis]
        if t.batched and axis == 0:
            if k != builtins.slice(None):
                raise IndexError(
                    f"Indexing the batch axis of {t.shape} is not supported (only ':')"
                )
            starts.append(0), stops.append(-1), steps.append(1), out_shape.append(None)
        elif n is None:  # an axis of variable length: whole only
            if k != builtins.slice(None):
                raise IndexError(
                    f"Indexing axis {axis} of {t.shape}, of variable length, is not supported "
                    "(only ':')"
                )
            starts.append(0), stops.append(_TO_THE_END), steps.append(1), out_shape.append(None)
        elif isinstance(k, builtins.slice):
            start, stop, step = k.indices(n)
            if step < 1:
                raise IndexError(
                    "slices with a negative step are not supported on symbolic tensors"
                )
            length = len(range(start, stop, step))
            starts.append(start), stops.append(builtins.max(stop, start)), steps.append(step)
            out_shape.append(length)
        elif isinstance(k, (int, np.integer)):
            if not -n <= k < n:
                raise IndexError(f"index {k} is out of bounds for axis {axis} with size {n}")
            k = int(k) % n
            starts.append(k), stops.append(k + 1), steps.append(1)
        else:
            raise IndexError(
                f"Unsupported index {k!r} on a symbolic tensor (ints, slices, None and ... are)"
            )
        axis += 1
    sliced = t
    whole = [
        -1 if d is None and t.batched and a == 0 else _TO_THE_END if d is None else d
        for a, d in enumerate(t.shape)
    ]
    if (starts, stops, steps) != ([0] * len(t.shape), whole, [1] * len(t.shape)):
        sliced = record("slice", "SliceOp", [t], starts, stops, steps)
    if list(out_shape) != list(sliced.shape):
        sliced = reshape(sliced, out_shape)
    return sliced


def slice(inputs, start_indices, shape):  # noqa: A001 (Keras's name)
    """The block of `inputs` starting at `start_indices` with `shape`."""
    if is_symbolic(inputs):
        t = symbolic.operand(inputs, symbolic.dtype_of(inputs))
        starts = [int(s) for s in start_indices]
        stops = [-1 if (t.batched and i == 0) else s + int(n) for i, (s, n) in
                 enumerate(zip(starts, shape))]  # fmt: skip
        return record("slice", "SliceOp", [t], starts, stops, [1] * len(starts))
    idx = tuple(builtins.slice(int(s), int(s) + int(n)) for s, n in zip(start_indices, shape))
    return _array(inputs)[idx]


def slice_update(inputs, start_indices, updates):
    """`inputs` with the block at `start_indices` replaced by `updates`."""
    if is_symbolic(inputs, updates):
        return record("slice_update", "SliceUpdateOp", [inputs, updates],
                      [int(s) for s in start_indices])  # fmt: skip
    out = _array(inputs).copy()
    u = _array(updates)
    idx = tuple(builtins.slice(int(s), int(s) + n) for s, n in zip(start_indices, u.shape))
    out[idx] = u
    return out


# -- creation (constants: never symbolic) ---------------------------------------------------
def _float(dtype):
    return config.floatx() if dtype is None else str(np.dtype(dtype))


def zeros(shape, dtype=None):
    return np.zeros(shape, dtype=_float(dtype))


def ones(shape, dtype=None):
    return np.ones(shape, dtype=_float(dtype))


def full(shape, fill_value, dtype=None):
    return np.full(shape, fill_value, dtype=_float(dtype))


def _like(name: str, value):
    def op(x, dtype=None):
        if is_symbolic(x):
            t = symbolic.operand(x, symbolic.dtype_of(x))
            ones = record("ones_like", "UnaryOp", [t], "power_scalar", 0.0, 0.0)  # x ** 0: 1
            return ones if value == 1.0 else multiply(ones, value)  # for NaN and inf too
        return np.full_like(_array(x), value, dtype=dtype)

    op.__name__ = name
    return op


zeros_like = _like("zeros_like", 0.0)
ones_like = _like("ones_like", 1.0)


def full_like(x, fill_value, dtype=None):
    return _like("full_like", fill_value)(x, dtype)


def arange(start, stop=None, step=1, dtype=None):
    """Evenly spaced values (int32 for int arguments, as Keras). `arange(length)` or
    `arange(0, length)` of a variable length (`ops.shape(x)[1]` of a sequence of any length)
    are the positions along that axis, computed per batch."""
    if isinstance(start, VariableLength) or isinstance(stop, VariableLength):
        length = start if stop is None else stop
        if stop is not None and (start != 0 or isinstance(start, VariableLength)) or step != 1:
            raise NotImplementedError(
                "ops.arange of a variable length supports arange(length) and "
                f"arange(0, length); got arange({start}, {stop}, {step})"
            )
        positions = length.positions()
        return positions if dtype is None else cast(positions, dtype)
    if dtype is None:
        ints = builtins.all(isinstance(v, (int, np.integer)) for v in (start, stop, step)
                            if v is not None)  # fmt: skip
        dtype = "int32" if ints else config.floatx()
    return np.arange(start, stop, step, dtype=dtype)


def linspace(start, stop, num: int = 50, endpoint: bool = True, dtype=None, axis: int = 0):
    return np.linspace(start, stop, num, endpoint=endpoint, axis=axis, dtype=_float(dtype))


def eye(N, M=None, k: int = 0, dtype=None):  # noqa: N803 (Keras's names)
    return np.eye(N, M, k, dtype=_float(dtype))


def identity(n, dtype=None):
    return np.identity(n, dtype=_float(dtype))


def tri(N, M=None, k: int = 0, dtype=None):  # noqa: N803
    return np.tri(N, M, k, dtype=_float(dtype))


def tril(x, k: int = 0):
    if is_symbolic(x):
        n, m = shape(x)[-2:]
        return multiply(x, np.tri(n, m, k, dtype=symbolic.dtype_of(x)))
    return np.tril(_array(x), k)


def triu(x, k: int = 0):
    if is_symbolic(x):
        n, m = shape(x)[-2:]
        return multiply(x, 1 - np.tri(n, m, k - 1, dtype=symbolic.dtype_of(x)))
    return np.triu(_array(x), k)
