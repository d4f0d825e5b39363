"""eigennet losses vs the NumPy reference (tests/reference/losses.py)."""

import numpy as np
import pytest

import eigennet
from eigennet import _core
from reference import dense as ref_dense
from reference import losses as ref

DTYPES = [np.float32, np.float64]
TOL = {np.float32: dict(rtol=1e-5, atol=1e-6), np.float64: dict(rtol=1e-12, atol=1e-14)}
CLASSES = {
    "mean_squared_error": "MeanSquaredError",
    "mean_absolute_error": "MeanAbsoluteError",
    "huber": "Huber",
    "binary_crossentropy": "BinaryCrossentropy",
    "categorical_crossentropy": "CategoricalCrossentropy",
    "sparse_categorical_crossentropy": "SparseCategoricalCrossentropy",
}
CASES = [(n, False) for n in ref.NAMES] + [(n, True) for n in ref.HAS_FROM_LOGITS]
CASE_IDS = [f"{n}-logits" if logits else n for n, logits in CASES]
PROBABILITY_LOSSES = ref.HAS_FROM_LOGITS


def make_case(name, from_logits, dtype, seed=0, shape=(6, 4)):
    """(y_true, y_pred) away from kinks and clipping boundaries."""
    rng = np.random.default_rng(seed)
    batch, classes = shape
    if from_logits:
        y_pred = rng.normal(scale=2.0, size=shape)
    elif name in ("categorical_crossentropy", "sparse_categorical_crossentropy"):
        y_pred = rng.uniform(0.1, 1.0, size=shape)  # unnormalised: Keras divides by the row sum
    elif name == "binary_crossentropy":
        y_pred = rng.uniform(0.05, 0.95, size=shape)
    else:
        y_pred = rng.normal(size=shape) * 1.5
    if name == "sparse_categorical_crossentropy":
        y_true = rng.integers(0, classes, size=batch).astype(dtype)
    elif name == "categorical_crossentropy":
        y_true = rng.dirichlet(np.ones(classes), size=batch)  # soft targets
    elif name == "binary_crossentropy":
        y_true = rng.integers(0, 2, size=shape).astype(np.float64)
        y_true[0, 0] = 0.3
    else:
        y_true = rng.normal(size=shape)
        err = y_pred - y_true
        y_pred[np.abs(err) < 0.05] += 0.2  # away from the mae kink
    return y_true.astype(dtype), y_pred.astype(dtype)


def logits_kwargs(name, from_logits):
    return {"from_logits": from_logits} if name in ref.HAS_FROM_LOGITS else {}


def assert_close(got, expected, dtype):
    np.testing.assert_allclose(np.asarray(got, np.float64), expected, **TOL[dtype])


def as64(*arrays):
    return [a.astype(np.float64) for a in arrays]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,from_logits", CASES, ids=CASE_IDS)
def test_function_per_sample(name, from_logits, dtype):
    y_true, y_pred = make_case(name, from_logits, dtype)
    got = getattr(eigennet.losses, name)(y_true, y_pred, **logits_kwargs(name, from_logits))
    expected, _ = ref.per_sample_and_grad(name, *as64(y_true, y_pred), from_logits)
    assert np.shape(got) == expected.shape
    assert_close(got, expected, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,from_logits", CASES, ids=CASE_IDS)
def test_class_scalar(name, from_logits, dtype):
    y_true, y_pred = make_case(name, from_logits, dtype, seed=1)
    loss = getattr(eigennet.losses, CLASSES[name])(**logits_kwargs(name, from_logits))
    expected, _ = ref.value_and_grad(name, *as64(y_true, y_pred), from_logits)
    assert_close(float(loss(y_true, y_pred)), expected, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,from_logits", CASES, ids=CASE_IDS)
def test_core_value_and_grad(name, from_logits, dtype):
    y_true, y_pred = make_case(name, from_logits, dtype, seed=2)
    value, grad = _core.loss_value_and_grad(name, y_true, y_pred, from_logits)
    expected_value, expected_grad = ref.value_and_grad(name, *as64(y_true, y_pred), from_logits)
    assert grad.shape == y_pred.shape and grad.dtype == dtype
    assert_close(value, expected_value, dtype)
    assert_close(grad, expected_grad, dtype)


def _finite_difference_grad(value, y_pred, h=1e-6):
    grad = np.zeros_like(y_pred)
    for idx in np.ndindex(y_pred.shape):
        plus, minus = y_pred.copy(), y_pred.copy()
        plus[idx] += h
        minus[idx] -= h
        grad[idx] = (value(plus) - value(minus)) / (2 * h)
    return grad


@pytest.mark.parametrize("name,from_logits", CASES, ids=CASE_IDS)
def test_core_grad_matches_finite_differences(name, from_logits):
    y_true, y_pred = make_case(name, from_logits, np.float64, seed=3, shape=(4, 3))
    _, grad = _core.loss_value_and_grad(name, y_true, y_pred, from_logits)
    fd = _finite_difference_grad(
        lambda p: _core.loss_value_and_grad(name, y_true, p, from_logits)[0], y_pred
    )
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("name,from_logits", CASES, ids=CASE_IDS)
def test_reference_grad_matches_finite_differences(name, from_logits):
    """Guards the reference itself, so the comparisons above are meaningful."""
    y_true, y_pred = make_case(name, from_logits, np.float64, seed=4, shape=(4, 3))
    _, grad = ref.value_and_grad(name, y_true, y_pred, from_logits)
    fd = _finite_difference_grad(
        lambda p: ref.value_and_grad(name, y_true, p, from_logits)[0], y_pred
    )
    np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-9)


def clipped_case(name, dtype):
    """Probabilities at/beyond the [1e-7, 1 - 1e-7] clip; gradient must be zero there."""
    if name == "binary_crossentropy":
        y_true = np.array([[0.0, 1.0, 1.0, 0.0], [1.0, 0.0, 1.0, 0.0]])
        y_pred = np.array([[0.0, 1.0, 1e-9, 1 - 1e-9], [0.0, 1.0, 0.5, 0.2]])
    else:
        y_pred = np.array([[1.0, 0.0, 0.0], [1e-12, 5.0, 1e-12], [0.2, 0.3, 0.5]])
        y_true = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
        if name == "sparse_categorical_crossentropy":
            y_true = np.argmax(y_true, axis=-1).astype(np.float64)
    return y_true.astype(dtype), y_pred.astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", PROBABILITY_LOSSES)
def test_clipping(name, dtype):
    y_true, y_pred = clipped_case(name, dtype)
    # Reference evaluated in the same dtype: the clip bound 1 - 1e-7 rounds differently in float32.
    expected_per_sample, _ = ref.per_sample_and_grad(name, y_true, y_pred)
    expected_value, expected_grad = ref.value_and_grad(name, y_true, y_pred)
    assert_close(getattr(eigennet.losses, name)(y_true, y_pred), expected_per_sample, dtype)
    assert_close(
        float(getattr(eigennet.losses, CLASSES[name])()(y_true, y_pred)), expected_value, dtype
    )
    value, grad = _core.loss_value_and_grad(name, y_true, y_pred, False)
    assert np.all(np.isfinite(grad))
    assert_close(value, expected_value, dtype)
    assert_close(grad, expected_grad, dtype)


@pytest.mark.parametrize("name", ["mean_absolute_error", "huber"])
def test_kinks(name):
    """mae'(0) = 0 (sign(0)); huber at |error| == delta takes the quadratic branch."""
    y_true = np.array([[0.5, 0.5, 0.5, 0.5], [-1.0, 2.0, 0.25, 0.0]])
    y_pred = np.array([[0.5, 1.5, -0.5, 3.0], [-1.0, 2.0, 0.75, -0.5]])
    expected_value, expected_grad = ref.value_and_grad(name, y_true, y_pred)
    value, grad = _core.loss_value_and_grad(name, y_true, y_pred, False)
    assert_close(value, expected_value, np.float64)
    assert_close(grad, expected_grad, np.float64)


@pytest.mark.parametrize("name,from_logits", [c for c in CASES if "categorical" not in c[0]])
def test_rank_1_targets_are_expanded(name, from_logits):
    """Keras expands y_true of shape (batch,) to (batch, 1) when y_pred is (batch, 1).

    The loss classes always do; of the functions, Keras does it for the regression losses
    (its binary_crossentropy function rejects the mismatch), so only those are checked.
    """
    y_true, y_pred = make_case(name, from_logits, np.float64, seed=5, shape=(5, 1))
    expected = ref.per_sample_and_grad(name, y_true, y_pred, from_logits)[0]
    kwargs = logits_kwargs(name, from_logits)
    got = getattr(eigennet.losses, CLASSES[name])(**kwargs)(y_true[:, 0], y_pred)
    assert_close(float(got), expected.mean(), np.float64)
    if name not in ref.HAS_FROM_LOGITS:
        got = getattr(eigennet.losses, name)(y_true[:, 0], y_pred)
        assert np.shape(got) == (5,)
        assert_close(got, expected, np.float64)


@pytest.mark.parametrize("from_logits", [False, True])
def test_sparse_labels_as_integers_and_column(from_logits):
    y_true, y_pred = make_case("sparse_categorical_crossentropy", from_logits, np.float64, seed=6)
    expected = ref.sparse_categorical_crossentropy(y_true, y_pred, from_logits)
    labels = y_true.astype(np.int64)
    fn = eigennet.losses.sparse_categorical_crossentropy
    assert_close(fn(labels, y_pred, from_logits=from_logits), expected, np.float64)
    assert_close(fn(labels[:, None], y_pred, from_logits=from_logits), expected, np.float64)
    loss = eigennet.losses.SparseCategoricalCrossentropy(from_logits=from_logits)
    assert_close(float(loss(labels, y_pred)), expected.mean(), np.float64)


@pytest.mark.parametrize("delta", [0.5, 2.0])
def test_huber_delta(delta):
    y_true, y_pred = make_case("huber", False, np.float64, seed=7)
    expected = ref.huber(y_true, y_pred, delta=delta)
    assert_close(eigennet.losses.huber(y_true, y_pred, delta=delta), expected, np.float64)
    assert_close(
        float(eigennet.losses.Huber(delta=delta)(y_true, y_pred)), expected.mean(), np.float64
    )


@pytest.mark.parametrize(
    "alias,name", [("mse", "mean_squared_error"), ("mae", "mean_absolute_error")]
)
def test_aliases(alias, name):
    y_true, y_pred = make_case(name, False, np.float64, seed=8)
    assert_close(
        getattr(eigennet.losses, alias)(y_true, y_pred),
        getattr(ref, name)(y_true, y_pred),
        np.float64,
    )


# ---- model.compile accepts strings, functions, classes and instances ----------------------

OUTPUTS = {  # loss name -> (units, output activation)
    "mean_squared_error": (2, "linear"),
    "mean_absolute_error": (2, "linear"),
    "huber": (2, "tanh"),
    "binary_crossentropy": (1, "sigmoid"),
    "categorical_crossentropy": (3, "softmax"),
    "sparse_categorical_crossentropy": (3, "softmax"),
}
FORMS = ["function_name", "class_name", "function", "class", "instance"]
COMPILE_CASES = [(name, form) for name in ref.NAMES for form in FORMS] + [
    ("mean_squared_error", "alias"),
    ("mean_absolute_error", "alias"),
]


def loss_spec(name, form):
    cls = CLASSES[name]
    return {
        "alias": {"mean_squared_error": "mse", "mean_absolute_error": "mae"}.get(name),
        "function_name": name,
        "class_name": cls,
        "function": getattr(eigennet.losses, name),
        "class": getattr(eigennet.losses, cls),
        "instance": getattr(eigennet.losses, cls)(),
    }[form]


def model_case(name, seed=9):
    rng = np.random.default_rng(seed)
    units, activation = OUTPUTS[name]
    kernel = (rng.normal(size=(3, units)) * 0.5).astype(np.float32)
    bias = (rng.normal(size=units) * 0.1).astype(np.float32)
    x = rng.normal(size=(8, 3)).astype(np.float32)
    if name == "sparse_categorical_crossentropy":
        y = rng.integers(0, units, size=8).astype(np.float32)
    elif name == "categorical_crossentropy":
        y = np.eye(units, dtype=np.float32)[rng.integers(0, units, size=8)]
    elif name == "binary_crossentropy":
        y = rng.integers(0, 2, size=(8, 1)).astype(np.float32)
    else:
        y = rng.normal(size=(8, units)).astype(np.float32)
    return x, y, [(kernel, bias, activation)]


def compiled_model(layers, loss):
    model = eigennet.Sequential([eigennet.Input(shape=(layers[0][0].shape[0],))])
    for kernel, _, activation in layers:
        model.add(eigennet.layers.Dense(kernel.shape[1], activation=activation))
    model.compile(optimizer="sgd", loss=loss)
    model.set_weights([w for kernel, bias, _ in layers for w in (kernel, bias)])
    return model


@pytest.mark.parametrize("name,form", COMPILE_CASES)
def test_compile_accepts_loss_forms(name, form):
    spec = loss_spec(name, form)
    x, y, layers = model_case(name)
    expected_loss, expected_grads = ref_dense.loss_and_grads(
        x.astype(np.float64),
        y.astype(np.float64),
        [(k.astype(np.float64), b.astype(np.float64), a) for k, b, a in layers],
        name,
    )
    loss, grads = compiled_model(layers, spec)._compute_gradients(x, y)
    np.testing.assert_allclose(loss, expected_loss, rtol=1e-5)
    for got, expected in zip(grads, expected_grads, strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)
