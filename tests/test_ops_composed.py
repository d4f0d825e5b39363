"""keras.ops composed of the native ones (eigennet/ops/composed.py) and the native unary ops
exposed with them (tan, arcsin ... trunc, arctan2): each equals Keras's op on arrays and inside
a model (symbolic tensors), and trains with gradients that match float64 finite differences."""

import os

import numpy as np
import pytest

import eigennet as keras
from eigennet import layers, ops
from gradient_check import assert_gradients_match_finite_differences

RNG = np.random.default_rng(11)
X = RNG.normal(size=(4, 6)).astype("float32")
POSITIVE = (np.abs(X) + 1.5).astype("float32")  # arccosh, logs: inside their domains
UNIT = np.tanh(X).astype("float32") * 0.9  # arctanh
Y = RNG.normal(size=(4, 6)).astype("float32")
WITH_ZEROS = np.where(RNG.uniform(size=(4, 6)) < 0.3, 0.0, Y).astype("float32")
ROW = Y[:1]  # a second operand that broadcasts over the batch
ROW_WITH_ZEROS = np.where(np.arange(6) % 3 == 0, 0.0, Y[1]).astype("float32")[None]

# name: (arguments as built from a tensor x, the input)
ONE_INPUT = {
    "sinh": (lambda x: (x,), X),
    "cosh": (lambda x: (x,), X),
    "tan": (lambda x: (x,), UNIT),
    "arcsinh": (lambda x: (x,), X * 3),
    "arccosh": (lambda x: (x,), POSITIVE),
    "arctanh": (lambda x: (x,), UNIT),
    "arcsin": (lambda x: (x,), UNIT),
    "arccos": (lambda x: (x,), UNIT),
    "arctan": (lambda x: (x,), X * 3),
    "arctan2": (lambda x: (x, ROW), X),
    "log2": (lambda x: (x,), POSITIVE),
    "log10": (lambda x: (x,), POSITIVE),
    "exp2": (lambda x: (x,), X),
    "cbrt": (lambda x: (x,), X),
    "deg2rad": (lambda x: (x,), X),
    "rad2deg": (lambda x: (x,), X),
    "fabs": (lambda x: (x,), X),
    "trunc": (lambda x: (x,), X * 3),
    "hypot": (lambda x: (x, ROW), X),
    "logaddexp": (lambda x: (x, ROW), X),
    "divide_no_nan": (lambda x: (x, ROW_WITH_ZEROS), X),
    "heaviside": (lambda x: (x, 0.5), WITH_ZEROS),
    "count_nonzero": (lambda x: (x, 1), WITH_ZEROS),
    "ptp": (lambda x: (x, 1), X),
    "nansum": (lambda x: (x, 1), X),
    "nanmean": (lambda x: (x, 1), X),
    "nanmax": (lambda x: (x, 1), X),
    "nanmin": (lambda x: (x, 1), X),
    "flip": (lambda x: (x, 1), X),
    "fliplr": (lambda x: (x,), X),
    "roll": (lambda x: (x, 2, 1), X),
    "diff": (lambda x: (x, 2), X),
    "hstack": (lambda x: ([x, x * 2],), X),
    "inner": (lambda x: (x, Y[:3]), X),
    "isclose": (lambda x: (x, X[:1] + 1e-6), X[:1].repeat(4, 0)),
    "isinf": (lambda x: (x,), X),
    "nan_to_num": (lambda x: (x,), X),
}


@pytest.fixture(scope="module")
def kr():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    pytest.importorskip("torch")
    return pytest.importorskip("keras")


@pytest.mark.parametrize("name", sorted(ONE_INPUT))
def test_op_equals_keras_on_arrays_and_in_a_model(kr, name):
    arguments, x = ONE_INPUT[name]
    expected = np.asarray(kr.ops.convert_to_numpy(getattr(kr.ops, name)(*arguments(x))))
    got = np.asarray(getattr(ops, name)(*arguments(x)))
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected.astype(got.dtype), rtol=2e-6, atol=2e-6)
    inputs = keras.Input(x.shape[1:])
    model = keras.Model(inputs, getattr(ops, name)(*arguments(inputs)))
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=2e-6, atol=2e-6)


@pytest.mark.parametrize("name", ["vstack", "outer", "vdot", "trace", "average", "allclose"])
def test_ops_over_whole_arrays_equal_keras(kr, name):
    a, b = X[:3, :3], Y[:3, :3]
    cases = {
        "vstack": ([a, b],),
        "outer": (a[0], b[1]),
        "vdot": (a[0], b[0]),
        "trace": (X, 1),
        "average": (X, 1, np.arange(1, 7, dtype="float32")),
        "allclose": (a, a + 1e-7),
    }
    args = cases[name]
    expected = kr.ops.convert_to_numpy(getattr(kr.ops, name)(*args))
    np.testing.assert_allclose(getattr(ops, name)(*args), expected, rtol=2e-6, atol=2e-6)


def test_nan_aware_ops_and_nan_to_num_in_a_model():
    # Inputs are finite (predict refuses NaN and inf); the model makes them with log.
    x = X.copy()
    x[0, 1], x[2, 3] = -1.0, 0.0
    inputs = keras.Input((6,))
    logs = ops.log(inputs)  # NaN below 0, -inf at 0
    outputs = [ops.nan_to_num(logs, nan=1.0, neginf=-9.0), ops.isneginf(logs), ops.isinf(logs)]
    outputs += [getattr(ops, name)(logs, axis=1) for name in ("nansum", "nanmean", "nanmin")]
    got = keras.Model(inputs, outputs).predict(x, verbose=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        logs = np.log(x)
    np.testing.assert_allclose(got[0], np.nan_to_num(logs, nan=1.0, neginf=-9.0), rtol=1e-6)
    np.testing.assert_array_equal(got[1], np.isneginf(logs))
    np.testing.assert_array_equal(got[2], np.isinf(logs))
    for out, name in zip(got[3:], ("nansum", "nanmean", "nanmin")):
        np.testing.assert_allclose(out, getattr(np, name)(logs, axis=1), rtol=1e-6)


class Composed(layers.Layer):
    """A layer whose call runs the composed ops between two trained projections."""

    def build(self, shape):
        self.w = self.add_weight(shape=(shape[-1], 6), initializer="glorot_uniform")

    def call(self, x):
        h = ops.matmul(x, self.w)
        h = ops.sinh(h) + ops.logaddexp(h, 0.3 * h) + ops.cbrt(h * h + 1.0)
        h = ops.roll(ops.flip(h, 1), 1, axis=1) + ops.divide_no_nan(h, ops.hypot(h, 1.0))
        h = ops.concatenate([ops.diff(h), ops.arcsinh(h[:, :1]), ops.arctan2(h[:, :1], 2.0)], 1)
        h = h + ops.full_like(h, 0.5) * ops.cosh(0.1 * h)
        return ops.nansum(ops.expand_dims(h, 1) * ops.ones((1, 2, 1)), axis=1)


def test_composed_ops_gradients_match_finite_differences():
    keras.config.set_floatx("float64")
    try:
        model = keras.Sequential([keras.Input((5,)), Composed(), layers.Dense(2)])
        model.compile("sgd", "mse")
        x, y = RNG.normal(size=(6, 5)), RNG.normal(size=(6, 2))
        assert_gradients_match_finite_differences(model, x, y)
    finally:
        keras.config.set_floatx("float32")


def test_reordering_ops_need_a_known_length():
    inputs = keras.Input((None, 3))
    with pytest.raises(ValueError, match="known length"):
        ops.flip(inputs, axis=1)


def test_like_ops_fill_even_where_the_tensor_is_not_finite():
    # zeros_like was x * 0: NaN where x was inf or NaN.
    inputs = keras.Input((3,))
    logs = ops.log(inputs)  # -inf at 0, NaN below
    model = keras.Model(inputs, [ops.zeros_like(logs), ops.full_like(logs, 2.5)])
    zeros, filled = model.predict(np.array([[0.0, -1.0, 2.0]], "float32"), verbose=0)
    np.testing.assert_array_equal(zeros, np.zeros((1, 3)))
    np.testing.assert_array_equal(filled, np.full((1, 3), 2.5))


X3 = RNG.normal(size=(4, 3, 3)).astype("float32")
MORE = {  # name: (arguments as built from a tensor x, the input); batched in a model too
    "logaddexp2": (lambda x: (x, ROW), X),
    "signbit": (lambda x: (x,), X),
    "select": (lambda x: ([x > 0.5, x < -0.5], [x * 2, x * 3], 7.0), X),
    "searchsorted": (lambda x: (np.array([-1.0, 0.0, 0.5], "float32"), x), X),
    "digitize": (lambda x: (x, np.array([-1.0, 0.0, 0.5], "float32")), X),
    "rot90": (lambda x: (x, 1, (1, 2)), X3),
    "rot90-3": (lambda x: (x, 3, (2, 1)), X3),
    "diagonal": (lambda x: (x, 1, 1, 2), X3),
    "diagonal-neg": (lambda x: (x, -1, 2, 1), X3),
    "trace": (lambda x: (x, 1, 1, 2), X3),
    "trace-swapped": (lambda x: (x, -1, 2, 1), X3),
    "median": (lambda x: (x, 1), X),
    "quantile": (lambda x: (x, 0.3, -1), X),
    "percentile": (lambda x: (x, 80, 1, "nearest", True), X),
}


@pytest.mark.parametrize("case", sorted(MORE))
def test_more_ops_equal_keras_on_arrays_and_in_a_model(kr, case):
    arguments, x = MORE[case]
    name = case.split("-")[0]
    expected = np.asarray(kr.ops.convert_to_numpy(getattr(kr.ops, name)(*arguments(x))))
    got = np.asarray(getattr(ops, name)(*arguments(x)))
    np.testing.assert_allclose(got, expected.astype(got.dtype), rtol=2e-6, atol=2e-6)
    inputs = keras.Input(x.shape[1:])
    model = keras.Model(inputs, getattr(ops, name)(*arguments(inputs)))
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=2e-6, atol=2e-6)


@pytest.mark.parametrize(
    "name, args",
    [
        ("diag", (np.arange(1, 4, dtype="float32"), 1)),
        ("diag", (np.arange(1, 4, dtype="float32"), -2)),
        ("diag", (np.arange(12, dtype="float32").reshape(3, 4), 1)),
        ("kron", (np.arange(6, dtype="float32").reshape(2, 3), np.ones((2, 2), "float32"))),
        ("bincount", (np.array([0, 2, 2, 5]), None, 7)),
        ("bincount", (np.array([[0, 1], [1, 1]]), np.array([[0.5, 1.0], [2.0, 3.0]]))),
    ],
)
def test_whole_array_ops_equal_keras(kr, name, args):
    expected = kr.ops.convert_to_numpy(getattr(kr.ops, name)(*args))
    got = getattr(ops, name)(*args)
    if name == "argpartition":  # any order that partitions: compare the partitioned values
        kth = args[1]
        got_values = np.take_along_axis(args[0], got, -1)
        expected_values = np.take_along_axis(args[0], expected.astype(int), -1)
        np.testing.assert_array_equal(got_values[:, kth], expected_values[:, kth])
        return
    np.testing.assert_allclose(got, expected, rtol=1e-6)


class Structured(layers.Layer):
    """Weights combined with diag, kron and the diagonal (unbatched symbolic tensors)."""

    def build(self, shape):
        self.d = self.add_weight(shape=(2,), initializer="ones")
        self.k = self.add_weight(shape=(2, 2))

    def call(self, x):
        weight = ops.kron(ops.diag(self.d) + self.k, ops.ones((1, 1))) + ops.diag(
            ops.diagonal(self.k)
        )
        return ops.matmul(x, weight) + ops.median(x, axis=1, keepdims=True)


def test_structured_ops_train_with_gradients_matching_finite_differences():
    keras.config.set_floatx("float64")
    try:
        model = keras.Sequential([keras.Input((2,)), Structured(), layers.Dense(1)])
        model.compile("sgd", "mse")
        x, y = RNG.normal(size=(5, 2)), RNG.normal(size=(5, 1))
        assert_gradients_match_finite_differences(model, x, y)
    finally:
        keras.config.set_floatx("float32")


def test_cross_and_argpartition_equal_numpy():
    # (Keras 3.15's torch cross takes torch's deprecated default axis, not the last one.)
    other = X3[:1] + 1.0
    np.testing.assert_allclose(ops.cross(X3, other), np.cross(X3, other), rtol=1e-6)
    inputs = keras.Input((3, 3))
    model = keras.Model(inputs, ops.cross(inputs, other))
    np.testing.assert_allclose(model.predict(X3, verbose=0), np.cross(X3, other), rtol=1e-6)
    row_inputs = keras.Input((6,))
    in_a_model = keras.Model(row_inputs, ops.argpartition(row_inputs, 2))
    for positions in (ops.argpartition(X, 2), in_a_model.predict(X, verbose=0).astype(int)):
        values = np.take_along_axis(X, positions, -1)
        kth = np.sort(X, -1)[:, 2:3]
        np.testing.assert_array_equal(values[:, 2:3], kth)
        assert np.all(values[:, :2] <= kth) and np.all(values[:, 3:] >= kth)


WITH_NAN = X.copy()
WITH_NAN[0, 1] = WITH_NAN[2, 4] = np.nan
NUMPY_NAMES = {  # name: (arguments from x, the input, whether it runs in a model too)
    "append": (lambda x: (x, x * 2, 1), X, True),
    "dstack": (lambda x: ([x, x + 1],), X3, True),
    "hsplit": (lambda x: (x, 2), X, True),
    "fmax": (lambda x: (x, ROW), X, True),
    "fmin": (lambda x: (x, ROW), X, True),
    "fmod": (lambda x: (x * 5, ROW + 2.5), X, True),
    "ldexp": (lambda x: (x, np.array([[1, 2, -1, 0, 3, -2]], "int32")), X, True),
    "erfc": (lambda x: (x,), X, True),
    "sinc": (lambda x: (x,), np.where(X > 1, 0.0, X).astype("float32"), True),
    "isreal": (lambda x: (x,), X, True),
    "real": (lambda x: (x,), X, True),
    "conj": (lambda x: (x,), X, True),
    "nanvar": (lambda x: (x, 1), X, True),
    "nanstd": (lambda x: (x, 1, True), X, True),
    "nanargmax": (lambda x: (x, 1), X, True),
    "nanargmin": (lambda x: (x, 1), X, True),
    "nancumsum": (lambda x: (x, 1), X, True),
    "nancumprod": (lambda x: (x, 1), X, True),
    "isin": (lambda x: (x, X[0, :3]), X, True),
    "trapezoid": (lambda x: (x,), X, True),
    "cdist": (lambda x: (x, X3[0] + 0.5), X3, True),
    "psnr": (lambda x: (x, x * 0.9 + 0.1, 4.0), X3, False),
    "vander": (lambda x: (x[0],), X, False),
    "unique": (lambda x: (np.array([3, 1, 3, 2]),), X, False),
    "histogram": (lambda x: (x.ravel(), 4), X, False),
    "corrcoef": (lambda x: (x,), X, False),
    "correlate": (lambda x: (x[0], x[1], "full"), X, False),
    "gcd": (lambda x: (np.array([12, 18]), np.array([8, 27])), X, False),
    "left_shift": (lambda x: (np.array([1, 3]), np.array([2, 1])), X, False),
    "bitwise_invert": (lambda x: (np.array([1, 6], "int32"),), X, False),
    "hamming": (lambda x: (6,), X, False),
    "kaiser": (lambda x: (6, 2.5), X, False),
    "array_split": (lambda x: (x, 3, 1), X, False),
    "unravel_index": (lambda x: (np.array([1, 5]), (2, 3)), X, False),
}


def _as_list(value):
    return [np.asarray(v) for v in value] if isinstance(value, (list, tuple)) else [value]


@pytest.mark.parametrize("name", sorted(NUMPY_NAMES))
def test_numpy_names_equal_keras(kr, name):
    arguments, x, in_model = NUMPY_NAMES[name]
    expected = [np.asarray(kr.ops.convert_to_numpy(v))
                for v in _as_list(getattr(kr.ops, name)(*arguments(x)))]  # fmt: skip
    got = _as_list(getattr(ops, name)(*arguments(x)))
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        np.testing.assert_allclose(np.asarray(a, "float64"), b.astype("float64"), rtol=2e-6,
                                   atol=2e-6)  # fmt: skip
    if in_model:
        inputs = keras.Input(x.shape[1:])
        model = keras.Model(inputs, getattr(ops, name)(*arguments(inputs)))
        predicted = _as_list(model.predict(x, verbose=0))
        for a, b in zip(predicted, expected):
            np.testing.assert_allclose(a, b, rtol=2e-6, atol=2e-6)


def test_nan_names_on_arrays_with_nan():
    np.testing.assert_allclose(ops.nanstd(WITH_NAN, 1), np.nanstd(WITH_NAN, 1), rtol=1e-6)
    np.testing.assert_array_equal(ops.nanargmax(WITH_NAN, 1), np.nanargmax(WITH_NAN, 1))
    np.testing.assert_allclose(ops.fmax(WITH_NAN, 0.0), np.fmax(WITH_NAN, 0.0))
    with pytest.raises(ValueError, match="arrays only"):
        ops.unique(keras.Input((3,)))
    # (Keras's torch backend stacks nonzero's indices and has no imag of real tensors.)
    grid = np.array([[0, 1], [2, 0]])
    assert all(np.array_equal(a, b) for a, b in zip(ops.nonzero(grid), np.nonzero(grid)))
    np.testing.assert_array_equal(ops.imag(X), np.zeros_like(X))
    inputs = keras.Input((6,))
    predicted = keras.Model(inputs, [ops.empty_like(inputs), ops.imag(inputs)]).predict(
        X, verbose=0
    )
    assert all(p.shape == X.shape for p in predicted)


IMAGES = RNG.normal(size=(2, 4, 6, 8)).astype("float32")
SEQUENCES = RNG.normal(size=(3, 10)).astype("float32")
LAST = {  # name: (arguments from x, the input, whether it runs in a model too)
    "multi_hot": (lambda x: (np.array([[0, 2], [1, 1]]), 3), X, False),
    "depth_to_space": (lambda x: (x, 2), IMAGES, True),
    "space_to_depth": (lambda x: (x, 2), IMAGES, True),
    "extract_sequences": (lambda x: (x, 4, 3), SEQUENCES, True),
    "saturate_cast": (lambda x: (x * 300, "uint8"), X, False),
    "diagflat": (lambda x: (x[0, :3], 1), X, False),
    "dsplit": (lambda x: (x, 2), X3[..., :2], False),
    "segment_sum": (lambda x: (x, np.array([0, 0, 2, 1]), 3), X, False),
    "segment_max": (lambda x: (x, np.array([0, 0, 2, 1])), X, False),
    "nanmedian": (lambda x: (x, 1), WITH_NAN, False),
    "nanquantile": (lambda x: (x, 0.3, 1), WITH_NAN, False),
}


@pytest.mark.parametrize("name", sorted(LAST))
def test_last_names_equal_keras(kr, name):
    arguments, x, in_model = LAST[name]
    expected = [np.asarray(kr.ops.convert_to_numpy(v))
                for v in _as_list(getattr(kr.ops, name)(*arguments(x)))]  # fmt: skip
    got = _as_list(getattr(ops, name)(*arguments(x)))
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_allclose(np.asarray(a, "float64"), b.astype("float64"), rtol=2e-6,
                                   atol=2e-6)  # fmt: skip
    if in_model:
        inputs = keras.Input(x.shape[1:])
        model = keras.Model(inputs, getattr(ops, name)(*arguments(inputs)))
        np.testing.assert_allclose(model.predict(x, verbose=0), expected[0], rtol=2e-6, atol=2e-6)
    assert ops.dtype(X) == "float32" and ops.dtype(keras.Input((2,))) == "float32"
