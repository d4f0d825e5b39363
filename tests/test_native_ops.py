"""Native ops (keras.ops on symbolic tensors) on their own: forward against NumPy in float32 and
float64, gradients against float64 finite differences of sum(dy * y), and bad shapes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from eigennet import _core
from gradient_check import op_finite_differences, op_vjp

BATCH = 3
DTYPES = ["float32", "float64"]
TOL = {"float32": dict(rtol=2e-5, atol=2e-5), "float64": dict(rtol=1e-10, atol=1e-12)}


def make(name, dtype, *args, **kwargs):
    return getattr(_core, f"{name}_{dtype}")(*args, **kwargs)


def concrete(shape, batch=BATCH):
    return tuple(batch if d == -1 else d for d in shape)


def check(name, args, xs, expected, kwargs=None, wrt=None, fd=True, rtol_fd=1e-6, seed=0):
    """Forward in both dtypes against `expected` (float64), and the float64 gradients of every
    input in `wrt` (all when None) against finite differences; inputs outside `wrt` must get a
    zero gradient."""
    kwargs = kwargs or {}
    expected = np.asarray(expected, dtype="float64")
    rng = np.random.default_rng(seed)
    dy = rng.normal(size=expected.shape)
    for dtype in DTYPES:
        op = make(name, dtype, *args, **kwargs)
        y, grads = op_vjp(op, xs, dy, dtype)
        assert y.shape == expected.shape
        np.testing.assert_allclose(y, expected, **TOL[dtype], err_msg=f"{name} {dtype}")
        assert len(grads) == len(xs)
    if not fd:
        return
    op = make(name, "float64", *args, **kwargs)
    _, grads = op_vjp(op, xs, dy)
    wanted = wrt if wrt is not None else list(range(len(xs)))
    numeric = op_finite_differences(op, xs, dy, wrt=wanted)
    for i, (got, want) in enumerate(zip(grads, numeric)):
        if want is None:
            np.testing.assert_array_equal(got, 0, err_msg=f"{name}: input {i} has no gradient")
        else:
            np.testing.assert_allclose(got, want, rtol=rtol_fd, atol=1e-8, err_msg=f"{name} d{i}")


# -- unary ----------------------------------------------------------------------------------
_erf = np.vectorize(math.erf)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _softplus(x):
    return np.logaddexp(0, x)


SELU_A, SELU_S = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946

UNARY = {
    "negative": (lambda x, a, b: -x, None),
    "abs": (lambda x, a, b: np.abs(x), None),
    "square": (lambda x, a, b: x**2, None),
    "sqrt": (lambda x, a, b: np.sqrt(x), "positive"),
    "rsqrt": (lambda x, a, b: 1 / np.sqrt(x), "positive"),
    "reciprocal": (lambda x, a, b: 1 / x, "positive"),
    "exp": (lambda x, a, b: np.exp(x), None),
    "log": (lambda x, a, b: np.log(x), "positive"),
    "log1p": (lambda x, a, b: np.log1p(x), "positive"),
    "expm1": (lambda x, a, b: np.expm1(x), None),
    "sin": (lambda x, a, b: np.sin(x), None),
    "cos": (lambda x, a, b: np.cos(x), None),
    "tanh": (lambda x, a, b: np.tanh(x), None),
    "sigmoid": (lambda x, a, b: _sigmoid(x), None),
    "relu": (lambda x, a, b: np.maximum(x, 0), None),
    "relu6": (lambda x, a, b: np.clip(x, 0, 6), "wide"),
    "leaky_relu": (lambda x, a, b: np.where(x >= 0, x, a * x), None),
    "elu": (lambda x, a, b: np.where(x > 0, x, a * np.expm1(x)), None),
    "selu": (lambda x, a, b: SELU_S * np.where(x > 0, x, SELU_A * np.expm1(x)), None),
    "gelu": (lambda x, a, b: 0.5 * x * (1 + _erf(x / np.sqrt(2))), None),
    "gelu_tanh": (
        lambda x, a, b: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3))),
        None,
    ),
    "silu": (lambda x, a, b: x * _sigmoid(x), None),
    "softplus": (lambda x, a, b: _softplus(x), None),
    "softsign": (lambda x, a, b: x / (1 + np.abs(x)), None),
    "hard_sigmoid": (lambda x, a, b: np.clip(x + 3, 0, 6) / 6, "wide"),
    "hard_silu": (lambda x, a, b: x * np.clip(x + 3, 0, 6) / 6, "wide"),
    "log_sigmoid": (lambda x, a, b: -_softplus(-x), None),
    "erf": (lambda x, a, b: _erf(x), None),
    "sign": (lambda x, a, b: np.sign(x), None),
    "floor": (lambda x, a, b: np.floor(x), "wide"),
    "ceil": (lambda x, a, b: np.ceil(x), "wide"),
    "round": (lambda x, a, b: np.round(x), "wide"),
    "logical_not": (lambda x, a, b: (x == 0).astype(float), "bool"),
    "isnan": (lambda x, a, b: np.isnan(x).astype(float), "special"),
    "isfinite": (lambda x, a, b: np.isfinite(x).astype(float), "special"),
    "identity": (lambda x, a, b: x, None),
    "clip": (lambda x, a, b: np.clip(x, a, b), None),
    "power_scalar": (lambda x, a, b: x**a, "positive"),
    "tan": (lambda x, a, b: np.tan(x), "unit"),
    "arcsin": (lambda x, a, b: np.arcsin(x), "unit"),
    "arccos": (lambda x, a, b: np.arccos(x), "unit"),
    "arctan": (lambda x, a, b: np.arctan(x), None),
    "sinh": (lambda x, a, b: np.sinh(x), None),
    "cosh": (lambda x, a, b: np.cosh(x), None),
    "arcsinh": (lambda x, a, b: np.arcsinh(x), None),
    "arccosh": (lambda x, a, b: np.arccosh(x), "above_one"),
    "arctanh": (lambda x, a, b: np.arctanh(x), "unit"),
    "log2": (lambda x, a, b: np.log2(x), "positive"),
    "log10": (lambda x, a, b: np.log10(x), "positive"),
    "exp2": (lambda x, a, b: np.exp2(x), None),
    "trunc": (lambda x, a, b: np.trunc(x), "wide"),
}
PARAMS = {
    "leaky_relu": (0.3, 0.0),
    "elu": (0.7, 0.0),
    "clip": (-0.5, 0.4),
    "power_scalar": (2.5, 0),
}
NO_GRADIENT = {"sign", "floor", "ceil", "round", "trunc", "logical_not", "isnan", "isfinite"}


def unary_input(domain, shape, rng):
    x = rng.normal(size=shape)
    if domain == "positive":
        return np.abs(x) + 0.2
    if domain == "unit":
        return rng.uniform(-0.9, 0.9, size=shape)
    if domain == "above_one":
        return np.abs(x) + 1.2
    if domain == "wide":  # away from kinks (0, +-3, 6) and from integers
        x = rng.uniform(-8, 8, size=shape)
        x = np.where(np.abs(x - np.round(x)) < 0.1, x + 0.25, x)
        return x
    if domain == "bool":
        return rng.integers(0, 2, size=shape).astype(float)
    if domain == "special":
        x = x.copy()
        x.flat[0], x.flat[1], x.flat[2] = np.nan, np.inf, -np.inf
        return x
    x = np.where(np.abs(x) < 0.05, x + 0.1, x)  # away from 0 (abs, relu, sign, clip)
    return np.where(np.abs(np.abs(x) - 0.45) < 0.05, x * 0.8, x)


@pytest.mark.parametrize("kind", sorted(UNARY))
@pytest.mark.parametrize("shape", [[-1, 2, 3], [4, 3]])
def test_unary(kind, shape):
    fn, domain = UNARY[kind]
    a, b = PARAMS.get(kind, (0.0, 0.0))
    x = unary_input(domain, concrete(shape), np.random.default_rng(1))
    if kind in ("isnan", "isfinite"):
        for dtype in DTYPES:
            y, _ = op_vjp(make("UnaryOp", dtype, kind, shape, a, b), [x], np.ones(x.shape), dtype)
            np.testing.assert_array_equal(y, fn(x, a, b))
        return
    check("UnaryOp", [kind, shape, a, b], [x], fn(x, a, b), wrt=[] if kind in NO_GRADIENT else None)


def test_unary_keyword_arguments_and_unknown_kind():
    op = _core.UnaryOp_float64(kind="leaky_relu", input=[-1, 2], alpha=0.1)
    assert op.full_output_shape == [-1, 2]
    for make_bad in (
        lambda: _core.UnaryOp_float32("nope", [-1, 2]),
        lambda: _core.BinaryOp_float32("nope", [-1, 2], [2]),
        lambda: _core.ReduceOp_float32("nope", [-1, 2], [1], False),
        lambda: _core.SoftmaxOp_float32("nope", [-1, 2], 1),
        lambda: _core.CumulativeOp_float32("nope", [-1, 2], 1),
    ):
        with pytest.raises(ValueError, match=r"Op on \(None, 2\).*unknown kind 'nope'"):
            make_bad()


def test_round_is_half_to_even():
    x = np.array([[0.5, 1.5, 2.5, -0.5]])
    y, _ = op_vjp(_core.UnaryOp_float64("round", [-1, 4]), [x], np.ones_like(x))
    np.testing.assert_array_equal(y, np.round(x))


# -- binary ---------------------------------------------------------------------------------
BINARY = {
    "add": (np.add, None),
    "subtract": (np.subtract, None),
    "multiply": (np.multiply, None),
    "divide": (np.divide, "nonzero_b"),
    "power": (np.power, "positive_a"),
    "maximum": (np.maximum, None),
    "minimum": (np.minimum, None),
    "floor_divide": (np.floor_divide, "nonzero_b"),
    "mod": (np.mod, "nonzero_b"),
    "equal": (lambda a, b: (a == b) * 1.0, "ints"),
    "not_equal": (lambda a, b: (a != b) * 1.0, "ints"),
    "less": (lambda a, b: (a < b) * 1.0, "ints"),
    "less_equal": (lambda a, b: (a <= b) * 1.0, "ints"),
    "greater": (lambda a, b: (a > b) * 1.0, "ints"),
    "greater_equal": (lambda a, b: (a >= b) * 1.0, "ints"),
    "logical_and": (lambda a, b: np.logical_and(a, b) * 1.0, "ints"),
    "logical_or": (lambda a, b: np.logical_or(a, b) * 1.0, "ints"),
    "logical_xor": (lambda a, b: np.logical_xor(a, b) * 1.0, "ints"),
    "arctan2": (np.arctan2, None),
}
BINARY_ZERO_GRADIENT = {"floor_divide"} | {k for k, (_, d) in BINARY.items() if d == "ints"}
BROADCASTS = [
    ([-1, 4], [-1, 4]),
    ([-1, 2, 4], [4]),  # bias add
    ([4], [-1, 2, 4]),
    ([-1, 1, 4], [-1, 3, 1]),
    ([-1, 3], [1, 3]),
    ([-1, 3], []),
    ([2, 3], [3]),
    ([2, 1], [1, 3]),
]


def binary_inputs(domain, sa, sb, rng):
    a, b = rng.normal(size=concrete(sa)), rng.normal(size=concrete(sb))
    if domain == "nonzero_b":
        b = np.where(np.abs(b) < 0.3, b + np.sign(b + 1e-9) * 0.5, b) * 1.7
        a = a * 3
    elif domain == "positive_a":
        a = np.abs(a) + 0.3
    elif domain == "ints":
        a = rng.integers(-1, 2, size=a.shape).astype(float)
        b = rng.integers(-1, 2, size=b.shape).astype(float)
    return a, b


@pytest.mark.parametrize("kind", sorted(BINARY))
@pytest.mark.parametrize("shapes", BROADCASTS, ids=str)
def test_binary(kind, shapes):
    fn, domain = BINARY[kind]
    sa, sb = shapes
    a, b = binary_inputs(domain, sa, sb, np.random.default_rng(2))
    expected = fn(a, b)
    out_shape = list(np.broadcast_shapes(concrete(sa), concrete(sb)))
    op = make("BinaryOp", "float32", kind, sa, sb)
    assert op.full_output_shape[1:] == out_shape[1:]
    check(
        "BinaryOp",
        [kind, sa, sb],
        [a, b],
        expected,
        wrt=[] if kind in BINARY_ZERO_GRADIENT else None,
    )


def test_maximum_minimum_split_ties_like_torch():
    a = np.array([[1.0, 2.0, 3.0]])
    b = np.array([[1.0, 5.0, 0.0]])
    dy = np.ones_like(a)
    _, (ga, gb) = op_vjp(_core.BinaryOp_float64("maximum", [-1, 3], [-1, 3]), [a, b], dy)
    np.testing.assert_array_equal(ga, [[0.5, 0, 1]])
    np.testing.assert_array_equal(gb, [[0.5, 1, 0]])
    _, (ga, gb) = op_vjp(_core.BinaryOp_float64("minimum", [-1, 3], [-1, 3]), [a, b], dy)
    np.testing.assert_array_equal(ga, [[0.5, 1, 0]])
    np.testing.assert_array_equal(gb, [[0.5, 0, 1]])


def test_binary_large_bias_add_threads():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(512, 1024)), rng.normal(size=(1024,))
    y, (ga, gb) = op_vjp(
        _core.BinaryOp_float32("add", [-1, 1024], [1024]), [a, b], np.ones_like(a), "float32"
    )
    np.testing.assert_allclose(y, a + b, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(gb, np.full(1024, 512.0))


@pytest.mark.parametrize(
    "sa, sb",
    [([-1, 3], [4, 3]), ([-1, 3], [2, -1, 3]), ([2, 3], [4]), ([-1, 3], [2, 1, 3])],
)
def test_binary_bad_shapes(sa, sb):
    with pytest.raises(ValueError, match="^add: cannot broadcast"):
        _core.BinaryOp_float64("add", sa, sb)


# -- where ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "shapes",
    [([-1, 4], [-1, 4], [-1, 4]), ([-1, 2, 1], [4], [-1, 1, 4]), ([3], [2, 3], [])],
    ids=str,
)
def test_where(shapes):
    rng = np.random.default_rng(4)
    c = rng.integers(0, 2, size=concrete(shapes[0])).astype(float)
    x, y = (rng.normal(size=concrete(s)) for s in shapes[1:])
    check("WhereOp", list(shapes), [c, x, y], np.where(c != 0, x, y), wrt=[1, 2])


# -- reductions -----------------------------------------------------------------------------
def _logsumexp(x, axis, keepdims):
    m = np.max(x, axis=axis, keepdims=True)
    r = m + np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True))
    return r if keepdims else np.squeeze(r, axis=axis)


REDUCE = {
    "sum": np.sum,
    "mean": np.mean,
    "max": np.max,
    "min": np.min,
    "prod": np.prod,
    "var": np.var,
    "std": np.std,
    "logsumexp": _logsumexp,
    "norm": lambda x, axis, keepdims: np.sqrt(np.sum(x * x, axis=axis, keepdims=keepdims)),
    "all": lambda x, axis, keepdims: np.all(x != 0, axis=axis, keepdims=keepdims) * 1.0,
    "any": lambda x, axis, keepdims: np.any(x != 0, axis=axis, keepdims=keepdims) * 1.0,
}
AXES = [[2], [1, 2], [1], [0], [0, 2], []]


@pytest.mark.parametrize("kind", sorted(REDUCE))
@pytest.mark.parametrize("axes", AXES, ids=str)
@pytest.mark.parametrize("keepdims", [False, True])
def test_reduce(kind, axes, keepdims):
    shape = [-1, 3, 4]
    rng = np.random.default_rng(5)
    x = rng.normal(size=concrete(shape))
    if kind in ("all", "any"):
        x = (rng.random(size=x.shape) < (0.9 if kind == "all" else 0.1)).astype(float)
    axis = tuple(axes) if axes else None
    expected = REDUCE[kind](x, axis=axis, keepdims=keepdims)
    op = make("ReduceOp", "float64", kind, shape, axes, keepdims)
    batched = 0 not in axes and bool(axes)
    assert (op.full_output_shape[:1] == [-1]) == batched
    check(
        "ReduceOp",
        [kind, shape, axes, keepdims],
        [x],
        expected,
        wrt=[] if kind in ("all", "any") else None,
    )


def test_reduce_batchless_and_ties():
    x = np.array([[1.0, 3.0, 3.0], [2.0, 0.0, 2.0]])
    _, (g,) = op_vjp(_core.ReduceOp_float64("max", [2, 3], [1], False), [x], np.ones(2))
    np.testing.assert_array_equal(g, [[0, 0.5, 0.5], [0.5, 0, 0.5]])
    x0 = np.array([[2.0, 0.0, 3.0]])
    _, (g,) = op_vjp(_core.ReduceOp_float64("prod", [1, 3], [], False), [x0], np.array(1.0))
    np.testing.assert_array_equal(g, [[0, 6, 0]])


@pytest.mark.parametrize("kind", ["argmax", "argmin"])
@pytest.mark.parametrize("axes", [[1], [2], [0], []], ids=str)
def test_arg_reductions(kind, axes):
    x = np.random.default_rng(6).normal(size=(BATCH, 3, 4))
    x[0, 1, :] = x[0, 0, :]  # ties: the first wins
    axis = axes[0] if axes else None
    expected = getattr(np, kind)(x, axis=axis).astype(float)
    check("ReduceOp", [kind, [-1, 3, 4], axes, False], [x], expected, wrt=[])


def test_reductions_propagate_nan_like_numpy():
    x = np.array([[1.0, np.nan, 3.0, np.nan], [2.0, 5.0, 1.0, 0.0]])
    for kind in ("max", "min", "argmax", "argmin", "sum"):
        y, _ = op_vjp(_core.ReduceOp_float64(kind, [-1, 4], [1], False), [x], np.ones(2))
        np.testing.assert_array_equal(y, getattr(np, kind)(x, axis=1), err_msg=kind)


def test_reduce_bad_axes():
    with pytest.raises(ValueError, match=r"^sum: invalid axes \(3,\) for input \(None, 3, 4\)"):
        _core.ReduceOp_float64("sum", [-1, 3, 4], [3], False)
    with pytest.raises(ValueError, match="argmax: one axis"):
        _core.ReduceOp_float64("argmax", [-1, 3, 4], [1, 2], False)


# -- softmax, cumulative --------------------------------------------------------------------
def _softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@pytest.mark.parametrize("kind", ["softmax", "log_softmax"])
@pytest.mark.parametrize("axis", [0, 1, 2])
def test_softmax(kind, axis):
    x = np.random.default_rng(7).normal(size=(BATCH, 3, 4)) * 3
    s = _softmax(x, axis)
    check("SoftmaxOp", [kind, [-1, 3, 4], axis], [x], s if kind == "softmax" else np.log(s))


@pytest.mark.parametrize("kind", ["cumsum", "cumprod"])
@pytest.mark.parametrize("axis", [0, 1, 2])
def test_cumulative(kind, axis):
    x = np.random.default_rng(8).normal(size=(BATCH, 3, 4))
    check("CumulativeOp", [kind, [-1, 3, 4], axis], [x], getattr(np, kind)(x, axis=axis))


def test_cumprod_gradient_with_zeros():
    x = np.array([[2.0, 0.0, 3.0, 0.0, 5.0], [1.5, 2.0, 0.0, 1.0, -1.0]])
    check("CumulativeOp", ["cumprod", [-1, 5], 1], [x], np.cumprod(x, axis=1))


# -- matmul, einsum -------------------------------------------------------------------------
MATMULS = [
    ([-1, 5], [5, 4]),  # Dense
    ([-1, 2, 5], [5, 4]),  # folded into one product
    ([-1, 2, 5], [-1, 5, 4]),
    ([2, 5], [-1, 5, 4]),
    ([-1, 3, 2, 5], [3, 5, 4]),
    ([-1, 1, 2, 5], [3, 5, 4]),
    ([5], [5, 4]),
    ([-1, 5], [5]),
    ([-1, 2, 5], [5]),
    ([5], [-1, 5, 4]),
    ([2, 5], [5, 3]),
]


@pytest.mark.parametrize("sa, sb", MATMULS, ids=str)
def test_matmul(sa, sb):
    rng = np.random.default_rng(9)
    a, b = rng.normal(size=concrete(sa)), rng.normal(size=concrete(sb))
    check("MatMulOp", [sa, sb], [a, b], np.matmul(a, b))


def test_matmul_large_threads():
    rng = np.random.default_rng(10)
    a, b = rng.normal(size=(64, 8, 32, 32)), rng.normal(size=(64, 8, 32, 16))
    dy = rng.normal(size=(64, 8, 32, 16))
    y, (ga, gb) = op_vjp(_core.MatMulOp_float64([-1, 8, 32, 32], [-1, 8, 32, 16]), [a, b], dy)
    np.testing.assert_allclose(y, a @ b, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ga, dy @ np.swapaxes(b, -1, -2), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gb, np.swapaxes(a, -1, -2) @ dy, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "sa, sb, match",
    [
        ([-1, 32], [16, 8], r"^matmul: \(None, 32\) @ \(16, 8\): the contracted dimensions"),
        ([4, 3], [-1, 5], r"^matmul: \(4, 3\) @ \(None, 5\): the batch axis cannot be contracted"),
        ([-1, 3], [2, 3, 5], r"^matmul: .*batch axis would not be the first"),
        ([-1, 2, 3], [4, 3, 5], r"^matmul: .*do not broadcast"),
        ([], [3], r"^matmul: "),
    ],
)
def test_matmul_bad_shapes(sa, sb, match):
    with pytest.raises(ValueError, match=match):
        _core.MatMulOp_float32(sa, sb)


EINSUMS = [
    ("bqhd,bkhd->bhqk", [-1, 4, 2, 3], [-1, 5, 2, 3]),
    ("bhqk,bkhd->bqhd", [-1, 2, 4, 5], [-1, 5, 2, 3]),
    ("abc,cd->abd", [-1, 4, 3], [3, 5]),
    ("abcd,cde->abe", [-1, 2, 3, 4], [3, 4, 5]),
    ("bij,bkj->bik", [-1, 3, 4], [-1, 5, 4]),
    ("ij,jk", [3, 4], [4, 5]),
    ("bi,bi->b", [-1, 4], [-1, 4]),
    ("bi,j->bij", [-1, 3], [2]),
    ("btd,dnh->btnh", [-1, 3, 4], [4, 2, 5]),
    ("bji,bjk->bik", [-1, 4, 3], [-1, 4, 5]),  # a used transposed in place
    ("ji,kj->ik", [4, 3], [5, 4]),  # both transposed
    ("bij,bjk->bki", [-1, 3, 4], [-1, 4, 5]),  # the result permuted
    ("bd,nd->bn", [-1, 4], [5, 4]),
]


@pytest.mark.parametrize("eq, sa, sb", EINSUMS, ids=str)
def test_einsum(eq, sa, sb):
    rng = np.random.default_rng(11)
    a, b = rng.normal(size=concrete(sa)), rng.normal(size=concrete(sb))
    check("EinsumOp", [eq, sa, sb], [a, b], np.einsum(eq, a, b))


@pytest.mark.parametrize(
    "eq, sa, sb",
    [
        ("bi,ij->bj", [-1, 3], [4, 5]),
        ("bi,bj->ij", [-1, 3], [-1, 4]),
        ("ii,ij->j", [3, 3], [3, 4]),
        ("bi,ij->bjk", [-1, 3], [3, 4]),
        ("...i,ij->...j", [-1, 3], [3, 4]),
    ],
)
def test_einsum_bad(eq, sa, sb):
    with pytest.raises(ValueError, match="^einsum: '"):
        _core.EinsumOp_float64(eq, sa, sb)


# -- shape ops ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "shape, perm", [([-1, 2, 3], [0, 2, 1]), ([2, 3, 4], [2, 0, 1]), ([-1, 2, 3, 4], [0, 3, 1, 2])]
)
def test_transpose(shape, perm):
    x = np.random.default_rng(12).normal(size=concrete(shape))
    check("TransposeOp", [shape, perm], [x], np.transpose(x, perm))


def test_transpose_bad():
    with pytest.raises(ValueError, match=r"^transpose: .*batch axis"):
        _core.TransposeOp_float64([-1, 2], [1, 0])
    with pytest.raises(ValueError, match=r"^transpose: .*not a permutation"):
        _core.TransposeOp_float64([2, 2], [0, 0])


@pytest.mark.parametrize(
    "shapes, axis",
    [
        ([[-1, 2, 3], [-1, 4, 3]], 1),
        ([[-1, 2, 3], [-1, 2, 1], [-1, 2, 2]], 2),
        ([[2, 3], [1, 3]], 0),
    ],
)
def test_concatenate(shapes, axis):
    rng = np.random.default_rng(13)
    xs = [rng.normal(size=concrete(s)) for s in shapes]
    check("ConcatenateOp", [shapes, axis], xs, np.concatenate(xs, axis=axis))


def test_concatenate_bad():
    with pytest.raises(ValueError, match=r"^concatenate: .*batch axis"):
        _core.ConcatenateOp_float64([[-1, 3], [-1, 3]], 0)
    with pytest.raises(ValueError, match=r"^concatenate: .*with and without"):
        _core.ConcatenateOp_float64([[-1, 3], [2, 3]], 1)
    with pytest.raises(ValueError, match=r"^concatenate: .*differ"):
        _core.ConcatenateOp_float64([[-1, 3, 2], [-1, 4, 3]], 1)


@pytest.mark.parametrize(
    "shape, starts, stops, steps",
    [
        ([-1, 5, 6], [0, 1, 0], [-1, 4, 6], [1, 2, 3]),
        ([-1, 5], [0, 2], [2**62, 99], [1, 1]),
        ([5, 6], [4, 7], [1, 9], [1, 1]),  # empty after clamping
        ([5, 6], [1, 0], [5, 5], [3, 2]),
    ],
)
def test_slice(shape, starts, stops, steps):
    x = np.random.default_rng(14).normal(size=concrete(shape))
    index = tuple(
        slice(None) if d == -1 else slice(s, e, st)
        for d, s, e, st in zip(shape, starts, stops, steps)
    )
    check("SliceOp", [shape, starts, stops, steps], [x], x[index])


def test_slice_bad():
    with pytest.raises(ValueError, match=r"^slice: .*batch axis"):
        _core.SliceOp_float64([-1, 5], [1, 0], [-1, 5], [1, 1])
    with pytest.raises(ValueError, match=r"^slice: .*steps"):
        _core.SliceOp_float64([4, 5], [0, 0], [4, 5], [1, 0])


@pytest.mark.parametrize("shape, pads", [([-1, 2, 3], [[0, 0], [1, 2], [0, 1]]), ([2], [[3, 1]])])
def test_pad(shape, pads):
    x = np.random.default_rng(15).normal(size=concrete(shape))
    check("PadOp", [shape, pads, 1.5], [x], np.pad(x, pads, constant_values=1.5))


def test_pad_bad():
    with pytest.raises(ValueError, match=r"^pad: .*batch axis"):
        _core.PadOp_float64([-1, 2], [[1, 0], [0, 0]], 0.0)


@pytest.mark.parametrize(
    "shape, update, start", [([-1, 4, 5], [-1, 2, 3], [0, 1, 2]), ([4, 5], [4, 1], [0, 4])]
)
def test_slice_update(shape, update, start):
    rng = np.random.default_rng(16)
    x, u = rng.normal(size=concrete(shape)), rng.normal(size=concrete(update))
    expected = x.copy()
    expected[tuple(slice(s, s + n) for s, n in zip(start, u.shape))] = u
    check("SliceUpdateOp", [shape, update, start], [x, u], expected)


def test_slice_update_bad():
    with pytest.raises(ValueError, match=r"^slice_update: .*does not fit"):
        _core.SliceUpdateOp_float64([4, 5], [2, 2], [3, 0])


# -- broadcast_to, tile, repeat -------------------------------------------------------------
@pytest.mark.parametrize(
    "shape, target", [([-1, 1, 3], [-1, 4, 3]), ([-1, 3, 1], [-1, 3, 4]), ([2, 1], [2, 5])]
)
def test_broadcast_to(shape, target):
    x = np.random.default_rng(17).normal(size=concrete(shape))
    check("BroadcastToOp", [shape, target], [x], np.broadcast_to(x, concrete(target)))


def test_broadcast_to_bad():
    with pytest.raises(ValueError, match=r"^broadcast_to: "):
        _core.BroadcastToOp_float64([-1, 3], [2, 3])
    with pytest.raises(ValueError, match=r"^broadcast_to: "):
        _core.BroadcastToOp_float64([2, 3], [4, 3])
    with pytest.raises(ValueError, match=r"^broadcast_to: .*batch size"):
        _core.BroadcastToOp_float64([3], [-1, 3])


@pytest.mark.parametrize(
    "shape, reps", [([-1, 2, 3], [1, 2, 3]), ([-1, 2], [3]), ([2, 3], [2, 1, 2])]
)
def test_tile(shape, reps):
    x = np.random.default_rng(18).normal(size=concrete(shape))
    check("TileOp", [shape, reps], [x], np.tile(x, reps))


@pytest.mark.parametrize(
    "shape, repeats, axis", [([-1, 2, 3], 2, 1), ([-1, 2, 3], 3, 2), ([2, 3], 2, 0)]
)
def test_repeat(shape, repeats, axis):
    x = np.random.default_rng(19).normal(size=concrete(shape))
    check("RepeatOp", [shape, repeats, axis], [x], np.repeat(x, repeats, axis=axis))


def test_tile_repeat_bad():
    with pytest.raises(ValueError, match=r"^tile: .*batch axis"):
        _core.TileOp_float64([-1, 2], [2, 1])
    with pytest.raises(ValueError, match=r"^repeat: .*batch axis"):
        _core.RepeatOp_float64([-1, 2], 2, 0)


# -- take, take_along_axis, one_hot ---------------------------------------------------------
@pytest.mark.parametrize(
    "xshape, ishape, axis",
    [([5, 3], [-1, 4], 0), ([-1, 5], [2, 2], 1), ([-1, 4, 3], [3], 1), ([6], [-1], 0)],
)
def test_take(xshape, ishape, axis):
    rng = np.random.default_rng(20)
    x = rng.normal(size=concrete(xshape))
    n = x.shape[axis]
    idx = rng.integers(-n, n, size=concrete(ishape)).astype(float)
    idx.flat[0] = idx.flat[-1] = n - 1  # a repeated index (the gradient adds)
    check(
        "TakeOp", [xshape, ishape, axis], [x, idx], np.take(x, idx.astype(int), axis=axis), wrt=[0]
    )


@pytest.mark.parametrize("bad", [5.0, -6.0, 1.5, np.nan, 1e30, -np.inf])
@pytest.mark.parametrize("dtype", DTYPES)
def test_take_out_of_range_raises(bad, dtype):
    op = make("TakeOp", dtype, [5, 3], [-1], 0)
    with pytest.raises(IndexError, match="take: index .* out of range for axis 0 of size 5"):
        op_vjp(op, [np.zeros((5, 3)), np.array([0.0, bad])], np.zeros((2, 3)), dtype)


@pytest.mark.parametrize(
    "xshape, ishape, axis",
    [([-1, 4, 5], [-1, 4, 2], 2), ([-1, 4, 5], [1, 4, 2], 2), ([-1, 4, 5], [-1, 3, 1], 1)],
)
def test_take_along_axis(xshape, ishape, axis):
    rng = np.random.default_rng(21)
    x = rng.normal(size=concrete(xshape))
    n = x.shape[axis]
    idx = rng.integers(-n, n, size=concrete(ishape)).astype(float)
    check(
        "TakeAlongAxisOp",
        [xshape, ishape, axis],
        [x, idx],
        np.take_along_axis(x, idx.astype(int) % n, axis=axis),
        wrt=[0],
    )


def test_take_along_axis_out_of_range_raises():
    op = _core.TakeAlongAxisOp_float64([-1, 3], [-1, 1], 1)
    with pytest.raises(IndexError, match="take_along_axis: index 3"):
        op_vjp(op, [np.zeros((2, 3)), np.array([[0.0], [3.0]])], np.zeros((2, 1)))


def test_one_hot():
    idx = np.array([[0.0, 2.0], [3.0, -1.0], [1.0, 7.0]])
    expected = np.zeros((3, 2, 4))
    for i, j in np.ndindex(idx.shape):
        if 0 <= idx[i, j] < 4:
            expected[i, j, int(idx[i, j])] = 1
    check("OneHotOp", [[-1, 2], 4], [idx], expected, wrt=[])
    with pytest.raises(ValueError, match="^one_hot: "):
        _core.OneHotOp_float64([-1, 2], 0)


# -- dot_product_attention ------------------------------------------------------------------
def _attention(q, k, v, scale, causal, query_mask=None, key_mask=None, mask=None):
    """softmax over the keys each query may see (Keras's masked softmax: a row that may see
    none is zeros), times the values."""
    n, kh = q.shape[2], k.shape[2]
    k = np.repeat(k, n // kh, axis=2)
    v = np.repeat(v, n // kh, axis=2)
    logits = np.einsum("btnh,bsnh->bnts", q, k) * scale
    t, s = logits.shape[-2:]
    keep = np.ones((len(q), t, s), dtype=bool)
    if causal:
        keep &= np.tril(np.ones((t, s), dtype=bool))
    if query_mask is not None:
        keep &= (query_mask > 0.5)[:, :, None]
    if key_mask is not None:
        keep &= (key_mask > 0.5)[:, None, :]
    if mask is not None:
        keep &= mask > 0.5
    keep = keep[:, None]
    probs = _softmax(np.where(keep, logits, -1e9), -1) * keep
    return np.einsum("bnts,bsnh->btnh", probs, v)


@pytest.mark.parametrize(
    "qs, ks, vs",
    [
        ([-1, 4, 2, 3], [-1, 5, 2, 3], [-1, 5, 2, 2]),
        ([-1, 4, 4, 3], [-1, 4, 2, 3], [-1, 4, 2, 3]),  # grouped-query
        ([2, 3, 1, 2], [2, 3, 1, 2], [2, 3, 1, 2]),
    ],
    ids=str,
)
@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("scale", [None, 0.7])
def test_dot_product_attention(qs, ks, vs, causal, scale):
    rng = np.random.default_rng(22)
    q, k, v = (rng.normal(size=concrete(s)) for s in (qs, ks, vs))
    expected = _attention(q, k, v, scale or 1 / np.sqrt(qs[-1]), causal)
    check("DotProductAttentionOp", [[qs, ks, vs], scale, causal], [q, k, v], expected)


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("which", ["query", "key", "full", "all"])
def test_dot_product_attention_masks(which, causal):
    """Query, key and (T, S) masks as extra inputs, with fully masked rows (zeros) and a mask
    with a batch axis of 1; the masks get no gradient."""
    rng = np.random.default_rng(25)
    t, s = 5, 6
    shapes = [[-1, t, 2, 3], [-1, s, 1, 3], [-1, s, 1, 4]]
    q, k, v = (rng.normal(size=concrete(x)) for x in shapes)
    masks, kwargs, arrays = {}, {}, []
    if which in ("query", "all"):
        masks["query_mask"] = (rng.random((BATCH, t)) > 0.3).astype(float)
        masks["query_mask"][0, 1] = 0.0
        shapes.append([-1, t])
    if which in ("key", "all"):
        masks["key_mask"] = (rng.random((BATCH, s)) > 0.4).astype(float)
        masks["key_mask"][1] = 0.0  # a sample with no key at all
        shapes.append([-1, s])
    if which in ("full", "all"):
        masks["mask"] = (rng.random((1, t, s)) > 0.5).astype(float)
        shapes.append([1, t, s])
    for name, m in masks.items():
        kwargs[name] = True
        arrays.append(m)
    expected = _attention(q, k, v, 0.5, causal, **masks)
    check(
        "DotProductAttentionOp",
        [shapes, 0.5, causal],
        [q, k, v, *arrays],
        expected,
        kwargs=kwargs,
        wrt=[0, 1, 2],
    )


@pytest.mark.parametrize("causal", [False, True])
def test_dot_product_attention_over_several_blocks(causal):
    """Sequences longer than one block of queries (128) and keys (256): the online softmax
    across key blocks and the blocked backward equal the one-pass reference."""
    rng = np.random.default_rng(26)
    t, s = 300, 600 if not causal else 300
    shapes = [[-1, t, 2, 4], [-1, s, 1, 4], [-1, s, 1, 3]]
    q, k, v = (rng.normal(size=concrete(x, batch=2)) * 2 for x in shapes)
    key_mask = (rng.random((2, s)) > 0.2).astype(float)
    expected = _attention(q, k, v, 0.5, causal, key_mask=key_mask)
    op = _core.DotProductAttentionOp_float64([*shapes, [-1, s]], 0.5, causal, key_mask=True)
    dy = rng.normal(size=expected.shape)
    y, grads = op_vjp(op, [q, k, v, key_mask], dy)
    np.testing.assert_allclose(y, expected, rtol=1e-10, atol=1e-12)
    # the gradient against the reference's, through a directional finite difference
    for i, x in enumerate((q, k, v)):
        direction = rng.normal(size=x.shape)
        eps = 1e-6
        inputs = [q, k, v]
        plus = [a + eps * direction if j == i else a for j, a in enumerate(inputs)]
        minus = [a - eps * direction if j == i else a for j, a in enumerate(inputs)]
        numeric = (
            np.sum(dy * _attention(*plus, 0.5, causal, key_mask=key_mask))
            - np.sum(dy * _attention(*minus, 0.5, causal, key_mask=key_mask))
        ) / (2 * eps)
        np.testing.assert_allclose(np.sum(grads[i] * direction), numeric, rtol=1e-6)
    np.testing.assert_array_equal(grads[3], 0)


def test_dot_product_attention_bad():
    with pytest.raises(ValueError, match=r"^dot_product_attention: .*divide"):
        _core.DotProductAttentionOp_float32([[-1, 4, 3, 2], [-1, 4, 2, 2], [-1, 4, 2, 2]])
    with pytest.raises(ValueError, match=r"^dot_product_attention: .*head size"):
        _core.DotProductAttentionOp_float32([[-1, 4, 2, 2], [-1, 4, 2, 3], [-1, 4, 2, 3]])
    with pytest.raises(ValueError, match=r"^dot_product_attention: .*key mask must be"):
        _core.DotProductAttentionOp_float32(
            [[-1, 4, 2, 2], [-1, 5, 2, 2], [-1, 5, 2, 2], [-1, 4]], key_mask=True
        )
    with pytest.raises(ValueError, match=r"^dot_product_attention: expected 4 inputs"):
        _core.DotProductAttentionOp_float32(
            [[-1, 4, 2, 2], [-1, 5, 2, 2], [-1, 5, 2, 2]], query_mask=True
        )


def test_threaded_ops_match_one_thread():
    """Large enough to take the parallel paths: the same results on 1 and 2 threads."""
    rng = np.random.default_rng(23)
    cases = [
        (
            _core.DotProductAttentionOp_float64(
                [[-1, 64, 4, 16], [-1, 64, 2, 16], [-1, 64, 2, 16]]
            ),
            [
                rng.normal(size=(8, 64, 4, 16)),
                rng.normal(size=(8, 64, 2, 16)),
                rng.normal(size=(8, 64, 2, 16)),
            ],
        ),
        (
            _core.EinsumOp_float64("bqhd,bkhd->bhqk", [-1, 64, 4, 32], [-1, 64, 4, 32]),
            [rng.normal(size=(16, 64, 4, 32)), rng.normal(size=(16, 64, 4, 32))],
        ),
        (
            _core.ReduceOp_float64("logsumexp", [-1, 512, 600], [1], False),
            [rng.normal(size=(2, 512, 600))],
        ),
        (_core.SoftmaxOp_float64("softmax", [-1, 600, 512], 2), [rng.normal(size=(2, 600, 512))]),
        (_core.UnaryOp_float64("gelu", [-1, 1024]), [rng.normal(size=(600, 1024))]),
        (_core.TransposeOp_float64([-1, 300, 1024], [0, 2, 1]), [rng.normal(size=(2, 300, 1024))]),
    ]
    before = _core.get_num_threads()
    try:
        for op, xs in cases:
            results = []
            for threads in (1, 2):
                _core.set_num_threads(threads)
                out_shape = tuple(len(xs[0]) if d == -1 else d for d in op.full_output_shape)
                dy = np.random.default_rng(24).normal(size=out_shape)
                results.append(op_vjp(op, xs, dy))
            (y1, g1), (y2, g2) = results
            np.testing.assert_allclose(y1, y2, rtol=1e-12, atol=1e-12, err_msg=op.op_name)
            for a, b in zip(g1, g2):
                np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10, err_msg=op.op_name)
    finally:
        _core.set_num_threads(before)
    q, k, v = cases[0][1]
    np.testing.assert_allclose(
        op_vjp(cases[0][0], [q, k, v], np.zeros((8, 64, 4, 16)))[0],
        _attention(q, k, v, 0.25, False),
        rtol=1e-10,
    )


@pytest.mark.parametrize("batch", [1, 2])
def test_batch_of_one_and_empty_axes(batch):
    """A batch of 1 broadcasts like any size-1 axis; a zero-size axis gives empty results."""
    rng = np.random.default_rng(25)
    a, b = rng.normal(size=(batch, 1, 4)), rng.normal(size=(1, 3, 4))
    y, (ga, gb) = op_vjp(
        _core.BinaryOp_float64("multiply", [-1, 1, 4], [1, 3, 4]), [a, b], np.ones((batch, 3, 4))
    )
    np.testing.assert_allclose(y, a * b)
    np.testing.assert_allclose(gb, np.sum(np.broadcast_to(a, (batch, 3, 4)), axis=0, keepdims=True))
    x = np.zeros((batch, 0, 3))
    for op in (
        _core.SoftmaxOp_float64("softmax", [-1, 0, 3], 1),
        _core.CumulativeOp_float64("cumprod", [-1, 0, 3], 1),
        _core.TransposeOp_float64([-1, 0, 3], [0, 2, 1]),
        _core.UnaryOp_float64("exp", [-1, 0, 3]),
    ):
        out_shape = tuple(batch if d == -1 else d for d in op.full_output_shape)
        y, (g,) = op_vjp(op, [x], np.zeros(out_shape))
        assert y.shape == out_shape and g.shape == x.shape
    y, _ = op_vjp(_core.ReduceOp_float64("sum", [-1, 0, 3], [1], False), [x], np.ones((batch, 3)))
    np.testing.assert_array_equal(y, np.zeros((batch, 3)))


# -- convolution and pooling (ops.conv, depthwise_conv, max_pool, average_pool) ------------------
def _naive_windows(x, window, strides, padding, dilation):
    """Per output position (spatial index tuple): the list of (tap, input index or None when
    the tap falls in the padding), by plain loops (TensorFlow's 'same': the odd pad after)."""
    spatial = x.shape[1:-1]
    outs, pads = [], []
    for n, k, s, d in zip(spatial, window, strides, dilation):
        span = d * (k - 1) + 1
        if padding == "same":
            out = -(-n // s)
            pads.append(max(0, (out - 1) * s + span - n) // 2)
        else:
            out = (n - span) // s + 1
            pads.append(0)
        outs.append(out)
    result = {}
    for o in np.ndindex(*outs):
        taps = []
        for tap in np.ndindex(*window):
            idx = tuple(
                oi * s - p + t * d for oi, s, p, t, d in zip(o, strides, pads, tap, dilation)
            )
            inside = all(0 <= i < n for i, n in zip(idx, spatial))
            taps.append((tap, idx if inside else None))
        result[o] = taps
    return outs, result


def _naive_conv(x, k, strides, padding, dilation, depthwise=False):
    rank = x.ndim - 2
    outs, windows = _naive_windows(x, k.shape[:rank], strides, padding, dilation)
    channels = k.shape[-2] * k.shape[-1] if depthwise else k.shape[-1]
    y = np.zeros((len(x), *outs, channels))
    for o, taps in windows.items():
        for tap, idx in taps:
            if idx is None:
                continue
            v = x[(slice(None), *idx)]  # (batch, channels)
            if depthwise:
                y[(slice(None), *o)] += (v[:, :, None] * k[tap]).reshape(len(x), -1)
            else:
                y[(slice(None), *o)] += v @ k[tap]
    return y


def _naive_pool(x, mode, size, strides, padding):
    outs, windows = _naive_windows(x, size, strides, padding, (1,) * len(size))
    y = np.zeros((len(x), *outs, x.shape[-1]))
    for o, taps in windows.items():
        vals = np.stack([x[(slice(None), *idx)] for _, idx in taps if idx is not None])
        y[(slice(None), *o)] = vals.max(axis=0) if mode == "max" else vals.mean(axis=0)
    return y


CONV_CASES = [  # (sample shape, kernel spatial, strides, padding, dilation)
    ((7, 3), (3,), (1,), "valid", (1,)),
    ((7, 3), (3,), (2,), "same", (1,)),
    ((8, 2), (2,), (1,), "same", (3,)),
    ((6, 5, 2), (3, 2), (1, 1), "valid", (1, 1)),
    ((6, 5, 2), (3, 3), (2, 1), "same", (1, 1)),
    ((7, 6, 3), (2, 3), (1, 1), "same", (2, 1)),
    ((5, 5, 1), (1, 1), (1, 1), "valid", (1, 1)),
    ((5, 4, 1), (3, 3), (3, 2), "same", (1, 1)),
]


@pytest.mark.parametrize("sample, window, strides, padding, dilation", CONV_CASES)
def test_conv(sample, window, strides, padding, dilation):
    rng = np.random.default_rng(30)
    x = rng.normal(size=(2, *sample))
    k = rng.normal(size=(*window, sample[-1], 3))
    expected = _naive_conv(x, k, strides, padding, dilation)
    args = [[-1, *sample], list(k.shape), list(strides), padding, list(dilation)]
    check("ConvOp", args, [x, k], expected, rtol_fd=1e-5)


@pytest.mark.parametrize("sample, window, strides, padding, dilation", CONV_CASES)
def test_depthwise_conv(sample, window, strides, padding, dilation):
    rng = np.random.default_rng(31)
    x = rng.normal(size=(2, *sample))
    k = rng.normal(size=(*window, sample[-1], 2))
    expected = _naive_conv(x, k, strides, padding, dilation, depthwise=True)
    args = [[-1, *sample], list(k.shape), list(strides), padding, list(dilation)]
    check("DepthwiseConvOp", args, [x, k], expected, rtol_fd=1e-5)


@pytest.mark.parametrize("mode", ["max", "average"])
@pytest.mark.parametrize(
    "sample, size, strides, padding",
    [
        ((7, 3), (2,), (2,), "valid"),
        ((7, 3), (3,), (2,), "same"),
        ((6, 5, 2), (2, 2), (2, 2), "valid"),
        ((6, 5, 2), (3, 2), (1, 2), "same"),
        ((5, 5, 1), (3, 3), (2, 2), "same"),
    ],
)
def test_pool(mode, sample, size, strides, padding):
    x = np.random.default_rng(32).normal(size=(2, *sample))
    expected = _naive_pool(x, mode, size, strides, padding)
    check("PoolOp", [mode, [-1, *sample], list(size), list(strides), padding], [x], expected)


def test_conv_kernel_without_a_batch_of_inputs():
    """inputs without a batch axis (a constant) and a 1-sample batch give the same results."""
    rng = np.random.default_rng(33)
    x, k = rng.normal(size=(1, 5, 2)), rng.normal(size=(2, 2, 3))
    expected = _naive_conv(x, k, (1,), "valid", (1,))
    check("ConvOp", [[1, 5, 2], [2, 2, 3], [1], "valid", [1]], [x, k], expected)


def test_conv_and_pool_bad():
    with pytest.raises(ValueError, match=r"^conv: kernel .* does not fit"):
        _core.ConvOp_float32([-1, 5, 3], [2, 2, 4], [1], "valid", [1])
    with pytest.raises(ValueError, match=r"^conv: .*1-D and 2-D"):
        _core.ConvOp_float32([-1, 5, 5, 5, 3], [2, 2, 2, 3, 4], [1, 1, 1], "valid", [1, 1, 1])
    with pytest.raises(ValueError, match=r"^conv: .*smaller"):
        _core.ConvOp_float32([-1, 2, 3], [3, 3, 4], [1], "valid", [1])
    with pytest.raises(ValueError, match=r"^conv: padding"):
        _core.ConvOp_float32([-1, 5, 3], [2, 3, 4], [1], "causal", [1])
    with pytest.raises(ValueError, match=r"^conv: .*strides"):
        _core.ConvOp_float32([-1, 5, 3], [2, 3, 4], [1, 1], "valid", [1])
    with pytest.raises(ValueError, match=r"^depthwise_conv: kernel"):
        _core.DepthwiseConvOp_float32([-1, 5, 3], [2, 2, 1], [1], "valid", [1])
    with pytest.raises(ValueError, match=r"^max_pool: .*smaller"):
        _core.PoolOp_float32("max", [-1, 2, 3], [3], [1], "valid")
    with pytest.raises(ValueError, match=r"^pool: mode"):
        _core.PoolOp_float32("min", [-1, 4, 3], [2], [2], "valid")


def test_threaded_conv_ops_match_one_thread():
    rng = np.random.default_rng(34)
    x, k, kd = (
        rng.normal(size=(16, 32, 32, 8)),
        rng.normal(size=(3, 3, 8, 16)),
        rng.normal(size=(3, 3, 8, 2)),
    )
    cases = [
        (_core.ConvOp_float64([-1, 32, 32, 8], [3, 3, 8, 16], [1, 1], "same", [1, 1]), [x, k]),
        (
            _core.DepthwiseConvOp_float64([-1, 32, 32, 8], [3, 3, 8, 2], [1, 1], "same", [1, 1]),
            [x, kd],
        ),
        (_core.PoolOp_float64("max", [-1, 32, 32, 8], [2, 2], [1, 1], "same"), [x]),
    ]
    before = _core.get_num_threads()
    try:
        for op, xs in cases:
            out_shape = tuple(16 if d == -1 else d for d in op.full_output_shape)
            dy = rng.normal(size=out_shape)
            results = []
            for threads in (1, 4):
                _core.set_num_threads(threads)
                results.append(op_vjp(op, xs, dy))
            (y1, g1), (y2, g2) = results
            np.testing.assert_array_equal(y1, y2, err_msg=op.op_name)
            for a, b in zip(g1, g2):
                np.testing.assert_array_equal(a, b, err_msg=op.op_name)
    finally:
        _core.set_num_threads(before)
