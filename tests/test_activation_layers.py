"""Activation layers (ReLU, LeakyReLU, PReLU, ELU, Softmax, Identity): forward and gradients
against NumPy references, float64 finite differences (inputs and PReLU's alpha), Keras's
argument errors, configs, and parity with Keras 3 (torch backend) when it is installed."""

import json
import os
import warnings

import numpy as np
import pytest

import eigennet
from eigennet import layers, regularizers
from gradient_check import layer_graph_predict, layer_input_finite_differences, layer_vjp
from keras_parity import assert_trains_like_keras

core = eigennet._core
rng = np.random.default_rng(11)


# -- helpers ------------------------------------------------------------------------------


def _build(layer, x):
    layer.build((None, *x.shape[1:]))
    return layer


def vjp(layer, x, dy, dtype="float64"):
    """(y, dL/dalpha (flat), dL/dx) with L = sum(dy * y)."""
    y, param_grad, (grad,) = layer_vjp(layer, [x], dy, dtype)
    return y, param_grad, grad


def predict(layer, x, dtype="float64"):
    return layer_graph_predict(layer, [x], 3, dtype)


def input_finite_differences(layer, x, dy, h=1e-6):
    return layer_input_finite_differences(layer, [x], dy, h)[0]


def away_from(x, points, gap=1e-3):
    """x moved off the kinks at `points` (finite differences across a kink are meaningless)."""
    x = x.copy()
    for p in points:
        close = np.abs(x - p) < gap
        x[close] = p + 2 * gap
    return x


def relu_reference(x, negative_slope=0.0, max_value=None, threshold=0.0):
    m = np.inf if max_value is None else max_value
    y = np.where(x > threshold, np.minimum(x, m), 0.0) - negative_slope * np.maximum(
        threshold - x, 0.0
    )
    d = np.where(x > threshold, (x <= m) * 1.0, np.where(x < threshold, negative_slope, 0.0))
    return y, d


RELU_CASES = [
    {},
    {"max_value": 6.0},
    {"negative_slope": 0.1},
    {"threshold": 0.5},
    {"negative_slope": 0.2, "max_value": 1.5, "threshold": 0.3},
    {"max_value": 0.0},
    {"negative_slope": 1.5, "threshold": 1.0},
]


# -- ReLU, LeakyReLU, ELU, Identity -----------------------------------------------------------


@pytest.mark.parametrize("kwargs", RELU_CASES)
def test_relu_matches_numpy(kwargs):
    x = rng.standard_normal((5, 3, 4)) * 3
    layer = _build(layers.ReLU(dtype="float64", **kwargs), x)
    dy = rng.standard_normal(x.shape)
    y, param_grad, g = vjp(layer, x, dy)
    ref_y, ref_d = relu_reference(x, **kwargs)
    np.testing.assert_allclose(y, ref_y, rtol=1e-15, atol=0)
    np.testing.assert_allclose(g, dy * ref_d, rtol=1e-15, atol=0)
    assert param_grad.size == 0
    np.testing.assert_allclose(predict(layer, x), ref_y, rtol=1e-15)


def test_relu_keras_examples():
    x = np.array([[-10, -5, 0.0, 5, 10]])
    cases = [
        ({}, [0.0, 0.0, 0.0, 5.0, 10.0]),
        ({"negative_slope": 0.5}, [-5.0, -2.5, 0.0, 5.0, 10.0]),
        ({"max_value": 5.0}, [0.0, 0.0, 0.0, 5.0, 5.0]),
        ({"threshold": 5.0}, [0.0, 0.0, 0.0, 0.0, 10.0]),
        ({"max_value": 10, "negative_slope": 0.5, "threshold": 0}, [-5.0, -2.5, 0.0, 5.0, 10.0]),
    ]
    for kwargs, expected in cases:
        layer = _build(layers.ReLU(dtype="float64", **kwargs), x)
        np.testing.assert_array_equal(predict(layer, x)[0], expected)


@pytest.mark.parametrize("slope", [0.3, 0.0, 0.01, 2.0])
def test_leaky_relu(slope):
    x = rng.standard_normal((4, 7))
    layer = _build(layers.LeakyReLU(negative_slope=slope, dtype="float64"), x)
    dy = rng.standard_normal(x.shape)
    y, _, g = vjp(layer, x, dy)
    np.testing.assert_array_equal(y, np.where(x >= 0, x, slope * x))
    np.testing.assert_array_equal(g, np.where(x > 0, dy, slope * dy))


def test_leaky_relu_default_and_deprecated_alpha():
    assert layers.LeakyReLU().negative_slope == 0.3
    with pytest.warns(UserWarning, match="Argument `alpha` is deprecated"):
        layer = layers.LeakyReLU(alpha=0.2)
    assert layer.negative_slope == 0.2


@pytest.mark.parametrize("alpha", [1.0, 0.5, 2.0])
def test_elu(alpha):
    x = rng.standard_normal((4, 3, 2)) * 2
    layer = _build(layers.ELU(alpha=alpha, dtype="float64"), x)
    dy = rng.standard_normal(x.shape)
    y, _, g = vjp(layer, x, dy)
    np.testing.assert_allclose(y, np.where(x > 0, x, alpha * np.expm1(x)), rtol=1e-14, atol=1e-15)
    # Below 0 the derivative is y + alpha (no second exp): a few ulps from alpha * exp(x).
    np.testing.assert_allclose(g, np.where(x > 0, dy, dy * alpha * np.exp(x)), rtol=1e-12)


def test_identity():
    x = rng.standard_normal((4, 2, 3))
    layer = _build(layers.Identity(dtype="float64"), x)
    dy = rng.standard_normal(x.shape)
    y, _, g = vjp(layer, x, dy)
    np.testing.assert_array_equal(y, x)
    np.testing.assert_array_equal(g, dy)
    np.testing.assert_array_equal(predict(layer, x), x)


ELEMENTWISE_FD = {
    "relu": (lambda: layers.ReLU(dtype="float64"), [0.0]),
    "relu_all": (
        lambda: layers.ReLU(negative_slope=0.2, max_value=1.5, threshold=0.3, dtype="float64"),
        [0.3, 1.5],
    ),
    "leaky": (lambda: layers.LeakyReLU(dtype="float64"), [0.0]),
    "elu": (lambda: layers.ELU(alpha=0.7, dtype="float64"), [0.0]),
    "identity": (lambda: layers.Identity(dtype="float64"), []),
}


@pytest.mark.parametrize("name", sorted(ELEMENTWISE_FD))
def test_elementwise_finite_differences(name):
    make, kinks = ELEMENTWISE_FD[name]
    x = away_from(rng.standard_normal((3, 4)) * 2, kinks)
    layer = _build(make(), x)
    dy = rng.standard_normal(x.shape)
    _, _, g = vjp(layer, x, dy)
    np.testing.assert_allclose(g, input_finite_differences(layer, x, dy), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize(
    "make",
    [
        lambda **kw: layers.ReLU(negative_slope=0.1, max_value=2.0, threshold=0.2, **kw),
        lambda **kw: layers.LeakyReLU(**kw),
        lambda **kw: layers.ELU(alpha=0.5, **kw),
        lambda **kw: layers.Identity(**kw),
        lambda **kw: layers.Softmax(axis=1, **kw),
    ],
)
def test_float32(make):
    x = (rng.standard_normal((64, 9)) * 3).astype(np.float32)
    ref = _build(make(dtype="float64"), x)
    layer = _build(make(), x)
    assert layer.dtype == "float32"
    dy = rng.standard_normal(x.shape).astype(np.float32)
    y, _, g = vjp(layer, x, dy, dtype="float32")
    y64, _, g64 = vjp(ref, x.astype(np.float64), dy.astype(np.float64))
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, y64, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(g, g64, rtol=1e-6, atol=1e-7)


def test_large_batch_runs_in_parallel_blocks():
    # Past the parallel grain: the row blocks must agree with one pass.
    x = rng.standard_normal((600, 1000))
    layer = _build(layers.ReLU(negative_slope=0.1, max_value=1.0, dtype="float64"), x)
    np.testing.assert_array_equal(predict(layer, x), relu_reference(x, 0.1, 1.0)[0])


# -- argument errors ----------------------------------------------------------------------------


def test_relu_errors():
    with pytest.raises(ValueError, match="max_value of a ReLU layer cannot be a negative value"):
        layers.ReLU(max_value=-1)
    with pytest.raises(ValueError, match="negative_slope of a ReLU layer cannot be None or a"):
        layers.ReLU(negative_slope=-0.1)
    with pytest.raises(ValueError, match="negative_slope of a ReLU layer cannot be None"):
        layers.ReLU(negative_slope=None)
    with pytest.raises(ValueError, match="threshold of a ReLU layer cannot be None or a negative"):
        layers.ReLU(threshold=-1.0)
    with pytest.raises(ValueError, match="The negative_slope value of a Leaky ReLU layer"):
        layers.LeakyReLU(negative_slope=-0.5)
    with pytest.raises(TypeError, match="must be a number"):
        layers.ELU(alpha="big")


# -- Softmax ----------------------------------------------------------------------------------


def softmax_reference(x, axes):
    e = np.exp(x - x.max(axis=axes, keepdims=True))
    return e / e.sum(axis=axes, keepdims=True)


SOFTMAX_CASES = [
    ((4, 5), -1),
    ((4, 5), 1),
    ((3, 4, 5), -1),
    ((3, 4, 5), 1),
    ((3, 4, 5), (1, 2)),
    ((3, 4, 5), [-1]),
    ((2, 3, 4, 5), 2),
    ((2, 3, 4, 5), (1, 3)),
    ((2, 3, 4, 5), (1, 2)),
    ((2, 3, 70, 2), 2),  # an inner run longer than one stack chunk
    ((2, 3, 4, 5), (1, 2, 3)),
    ((2, 3, 4, 5), (3, 1)),
]


def _axes(axis, rank):
    axes = axis if isinstance(axis, (list, tuple)) else [axis]
    return tuple(a % rank for a in axes)


@pytest.mark.parametrize("shape, axis", SOFTMAX_CASES)
def test_softmax_matches_numpy(shape, axis):
    x = rng.standard_normal(shape) * 3
    layer = _build(layers.Softmax(axis=axis, dtype="float64"), x)
    axes = _axes(axis, len(shape))
    ref = softmax_reference(x, axes)
    dy = rng.standard_normal(shape)
    y, _, g = vjp(layer, x, dy)
    np.testing.assert_allclose(y, ref, rtol=1e-13, atol=1e-15)
    ref_g = ref * (dy - (dy * ref).sum(axis=axes, keepdims=True))
    np.testing.assert_allclose(g, ref_g, rtol=1e-11, atol=1e-14)
    np.testing.assert_allclose(predict(layer, x), ref, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("shape, axis", [((2, 3), -1), ((2, 3, 4), 1), ((2, 2, 3, 2), (1, 3))])
def test_softmax_finite_differences(shape, axis):
    x = rng.standard_normal(shape)
    layer = _build(layers.Softmax(axis=axis, dtype="float64"), x)
    dy = rng.standard_normal(shape)
    _, _, g = vjp(layer, x, dy)
    np.testing.assert_allclose(g, input_finite_differences(layer, x, dy), rtol=1e-6, atol=1e-9)


def test_softmax_large_values_are_stable():
    x = np.array([[1000.0, 1001.0, 1002.0]])
    y = predict(_build(layers.Softmax(dtype="float64"), x), x)
    np.testing.assert_allclose(y, softmax_reference(x - 1000, (1,)))


def test_absurd_sizes_are_memory_errors():
    with pytest.raises(MemoryError):
        layers.Softmax(axis=(1, 3)).build((None, 100000, 100000, 100000, 2))
    with pytest.raises(MemoryError):
        layers.PReLU(shared_axes=[1]).build((None, 100000, 100000, 100000))


def test_softmax_errors():
    with pytest.raises(ValueError, match="batch axis"):
        layers.Softmax(axis=0).build((None, 3))
    with pytest.raises(ValueError, match="out of range"):
        layers.Softmax(axis=3).build((None, 3))
    with pytest.raises(ValueError, match="integer or a list of integers"):
        layers.Softmax(axis="last")


# -- PReLU -----------------------------------------------------------------------------------


PRELU_CASES = [
    ((4, 5), None),
    ((4, 3, 5), None),
    ((4, 3, 5), [1]),
    ((4, 3, 5), 2),
    ((3, 2, 3, 4), [1, 2]),
    ((3, 2, 3, 4), (1, 3)),
    ((3, 2, 3, 4), [1, 2, 3]),
]


def _alpha_shape(shape, shared_axes):
    axes = [] if shared_axes is None else np.atleast_1d(shared_axes).tolist()
    return tuple(1 if d + 1 in axes else s for d, s in enumerate(shape[1:]))


@pytest.mark.parametrize("shape, shared_axes", PRELU_CASES)
def test_prelu_matches_numpy(shape, shared_axes):
    x = rng.standard_normal(shape)
    layer = _build(layers.PReLU(shared_axes=shared_axes, dtype="float64"), x)
    alpha_shape = _alpha_shape(shape, shared_axes)
    assert layer.alpha.shape == alpha_shape and layer.alpha.name == "alpha"
    np.testing.assert_array_equal(layer.alpha.numpy(), 0.0)  # Keras's "Zeros" default
    alpha = rng.uniform(0.05, 0.5, alpha_shape)
    layer.alpha.assign(alpha)
    dy = rng.standard_normal(shape)
    y, dalpha, g = vjp(layer, x, dy)
    np.testing.assert_allclose(y, np.where(x > 0, x, alpha * x), rtol=1e-15)
    np.testing.assert_allclose(g, np.where(x > 0, dy, alpha * dy), rtol=1e-15)
    summed = tuple(i for i, s in enumerate((len(x), *alpha_shape)) if s == 1 or i == 0)
    ref_dalpha = (dy * np.minimum(x, 0)).sum(axis=summed, keepdims=True)[0]
    np.testing.assert_allclose(dalpha.reshape(alpha_shape), ref_dalpha, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(predict(layer, x), np.where(x > 0, x, alpha * x), rtol=1e-15)


@pytest.mark.parametrize(
    "shape, shared_axes", [((3, 4), None), ((2, 3, 4), [1]), ((2, 2, 2, 3), [1, 2])]
)
def test_prelu_finite_differences(shape, shared_axes):
    x = away_from(rng.standard_normal(shape), [0.0])
    layer = _build(layers.PReLU(shared_axes=shared_axes, dtype="float64"), x)
    alpha0 = rng.uniform(0.1, 0.4, layer.alpha.shape)
    layer.alpha.assign(alpha0)
    dy = rng.standard_normal(shape)
    _, dalpha, g = vjp(layer, x, dy)
    np.testing.assert_allclose(g, input_finite_differences(layer, x, dy), rtol=1e-7, atol=1e-9)
    fd = np.zeros_like(alpha0)
    h = 1e-6
    for idx in np.ndindex(alpha0.shape):
        values = []
        for sign in (1, -1):
            moved = alpha0.copy()
            moved[idx] += sign * h
            layer.alpha.assign(moved)
            values.append(np.sum(dy * vjp(layer, x, dy)[0]))
        fd[idx] = (values[0] - values[1]) / (2 * h)
    layer.alpha.assign(alpha0)
    np.testing.assert_allclose(dalpha.reshape(alpha0.shape), fd, rtol=1e-7, atol=1e-9)


def test_prelu_options():
    layer = layers.PReLU(
        alpha_initializer="ones", alpha_regularizer=regularizers.L2(0.1), shared_axes=1
    )
    assert layer.shared_axes == [1]
    layer.build((None, 3, 4))
    assert layer.alpha.shape == (1, 4) and layer.alpha.trainable
    np.testing.assert_array_equal(layer.alpha.numpy(), 1.0)
    assert layer.trainable_weights[0].name == "alpha" and layer.count_params() == 4
    assert layer.get_build_config() == {"input_shape": [None, 3, 4]}


def test_prelu_errors():
    with pytest.raises(ValueError, match="Constraint 'nope'"):
        layers.PReLU(alpha_constraint="nope")
    with pytest.raises(ValueError, match="shared_axes"):
        layers.PReLU(shared_axes=[0]).build((None, 3))
    with pytest.raises(ValueError, match="shared_axes"):
        layers.PReLU(shared_axes=[3]).build((None, 3, 2))
    with pytest.raises(ValueError, match="shared_axes must be an integer or a list"):
        layers.PReLU(shared_axes="channels")


# -- configs ----------------------------------------------------------------------------------


CONFIG_CASES = [
    (layers.ReLU, {"max_value": 6.0, "negative_slope": 0.1, "threshold": 0.5}),
    (layers.ReLU, {}),
    (layers.LeakyReLU, {"negative_slope": 0.1}),
    (layers.ELU, {"alpha": 0.5}),
    (layers.Softmax, {"axis": [1, 2]}),
    (layers.Softmax, {}),
    (layers.Identity, {}),
    (layers.PReLU, {"shared_axes": [1, 2], "alpha_regularizer": regularizers.L1(0.01)}),
    (layers.PReLU, {}),
]

DEFAULTS = {
    layers.ReLU: {"max_value": None, "negative_slope": 0.0, "threshold": 0.0},
    layers.LeakyReLU: {"negative_slope": 0.3},
    layers.ELU: {"alpha": 1.0},
    layers.Softmax: {"axis": -1},
    layers.Identity: {},
    layers.PReLU: {
        "alpha_initializer": {
            "module": "keras.initializers",
            "class_name": "Zeros",
            "config": {},
            "registered_name": None,
        },
        "alpha_regularizer": None,
        "alpha_constraint": None,
        "shared_axes": None,
    },
}


@pytest.mark.parametrize("cls", list(DEFAULTS))
def test_default_config(cls):
    config = cls().get_config()
    assert set(config) == {"name", "trainable", "dtype", *DEFAULTS[cls]}
    for key, value in DEFAULTS[cls].items():
        assert config[key] == value


@pytest.mark.parametrize("cls, kwargs", CONFIG_CASES)
def test_config_round_trip(cls, kwargs):
    from eigennet.saving import serialization_lib

    layer = cls(name="act_x", dtype="float64", **kwargs)
    config = layer.get_config()
    again = cls.from_config(config)
    assert type(again) is cls and again.get_config() == config
    restored = serialization_lib.deserialize_keras_object(
        serialization_lib.serialize_keras_object(layer)
    )
    assert type(restored) is cls
    assert json.dumps(restored.get_config()) == json.dumps(config)


def test_prelu_weights_survive_set_weights():
    x = rng.standard_normal((2, 3, 4))
    layer = _build(layers.PReLU(shared_axes=[1], dtype="float64"), x)
    layer.set_weights([np.full((1, 4), 0.25)])
    clone = _build(layers.PReLU.from_config(layer.get_config()), x)
    clone.set_weights(layer.get_weights())
    np.testing.assert_array_equal(predict(clone, x), predict(layer, x))


# -- in models --------------------------------------------------------------------------------


def _activation_stack(lib, prelu_kwargs=None):
    return lib.Sequential(
        [
            lib.Input((3, 4)),
            lib.layers.Dense(5),
            lib.layers.PReLU(**(prelu_kwargs or {"alpha_initializer": "ones"})),
            lib.layers.Dense(5),
            lib.layers.ELU(alpha=0.7),
            lib.layers.Dense(4),
            lib.layers.LeakyReLU(negative_slope=0.1),
            lib.layers.Dense(4),
            lib.layers.ReLU(negative_slope=0.05, max_value=3.0),
            lib.layers.Softmax(axis=1),
            lib.layers.Identity(),
            lib.layers.Flatten(),
            lib.layers.Dense(1),
        ]
    )


def test_model_gradients_match_finite_differences(float64):
    from gradient_check import assert_gradients_match_finite_differences

    eigennet.utils.set_random_seed(4)
    prelu = {
        "alpha_initializer": "random_uniform",
        "alpha_regularizer": regularizers.L2(0.1),
        "shared_axes": [1],
    }
    model = _activation_stack(eigennet, prelu)
    model.compile(optimizer="sgd", loss="mse")
    data = np.random.default_rng(3)
    x, y = data.standard_normal((6, 3, 4)), data.standard_normal((6, 1))
    assert_gradients_match_finite_differences(model, x, y, rtol=1e-6, atol=1e-9)


def test_prelu_alpha_trains_and_freezes():
    eigennet.utils.set_random_seed(0)
    model = eigennet.Sequential([eigennet.Input((4,)), layers.PReLU(), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    data = np.random.default_rng(1)
    x, y = data.standard_normal((32, 4)), data.standard_normal((32, 1))
    prelu = model.layers[0]
    model.fit(x, y, epochs=2, verbose=0)
    assert np.any(prelu.alpha.numpy() != 0)
    prelu.trainable = False
    frozen = prelu.alpha.numpy()
    model.fit(x, y, epochs=2, verbose=0)
    np.testing.assert_array_equal(prelu.alpha.numpy(), frozen)


def test_model_config_round_trip():
    model = _activation_stack(eigennet, {"shared_axes": [1, 2]})
    config = json.loads(json.dumps(model.get_config()))
    rebuilt = type(model).from_config(config)
    rebuilt.set_weights(model.get_weights())
    x = rng.standard_normal((5, 3, 4)).astype(np.float32)
    np.testing.assert_allclose(rebuilt.predict(x, verbose=0), model.predict(x, verbose=0))


def test_model_save_and_load(tmp_path):
    eigennet.utils.set_random_seed(2)
    model = _activation_stack(eigennet, {"alpha_initializer": "random_uniform", "shared_axes": 2})
    path = tmp_path / "activations.keras"
    model.save(path)
    loaded = eigennet.models.load_model(path)
    assert [type(layer) for layer in loaded.layers] == [type(layer) for layer in model.layers]
    x = rng.standard_normal((5, 3, 4)).astype(np.float32)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


# -- parity with Keras 3 -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def keras_ref():
    os.environ["KERAS_BACKEND"] = "torch"
    pytest.importorskip("torch")
    return pytest.importorskip("keras")


PARITY_CASES = [
    ("ReLU", {}, (4, 3, 5)),
    ("ReLU", {"max_value": 6.0}, (4, 10)),
    ("ReLU", {"negative_slope": 0.2, "max_value": 1.5, "threshold": 0.3}, (4, 3, 5)),
    ("ReLU", {"negative_slope": 0.1}, (4, 10)),
    ("ReLU", {"threshold": 0.5}, (4, 10)),
    ("LeakyReLU", {}, (4, 3, 5)),
    ("LeakyReLU", {"negative_slope": 0.05}, (4, 10)),
    ("ELU", {}, (4, 3, 5)),
    ("ELU", {"alpha": 0.5}, (4, 10)),
    ("Softmax", {}, (4, 3, 5)),
    ("Softmax", {"axis": 1}, (4, 3, 5)),
    ("Softmax", {"axis": (1, 2)}, (4, 3, 5)),
    ("Softmax", {"axis": [1, 3]}, (2, 3, 4, 5)),
    ("Identity", {}, (4, 3, 5)),
    ("PReLU", {}, (4, 3, 5)),
    ("PReLU", {"shared_axes": [1]}, (4, 3, 5)),
    ("PReLU", {"shared_axes": [1, 2]}, (2, 3, 4, 5)),
]


@pytest.mark.parametrize("name, kwargs, shape", PARITY_CASES)
def test_parity_with_keras(keras_ref, name, kwargs, shape):
    import torch

    x = (rng.standard_normal(shape) * 2).astype(np.float64)
    dy = rng.standard_normal(shape)
    k_layer = getattr(keras_ref.layers, name)(dtype="float64", **kwargs)
    e_layer = _build(getattr(layers, name)(dtype="float64", **kwargs), x)
    k_layer.build(shape)
    if name == "PReLU":  # same random alpha on both sides
        alpha = rng.uniform(0.05, 0.5, e_layer.alpha.shape)
        e_layer.alpha.assign(alpha)
        k_layer.set_weights([alpha])
    t = torch.tensor(x, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        k_y = k_layer(t)
    assert k_y.dtype == torch.float64
    (k_y * torch.tensor(dy)).sum().backward()
    e_y, e_dalpha, e_g = vjp(e_layer, x, dy)
    np.testing.assert_allclose(e_y, k_y.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(e_g, t.grad.numpy(), rtol=1e-12, atol=1e-14)
    if name == "PReLU":
        k_dalpha = k_layer.alpha.value.grad.numpy()
        np.testing.assert_allclose(e_dalpha.reshape(k_dalpha.shape), k_dalpha, rtol=1e-12)
    keys = set(k_layer.get_config())
    if name == "ELU":
        keys.add("alpha")  # Keras 3's ELU config drops alpha; eigennet keeps it
    assert set(e_layer.get_config()) == keys
    if kwargs:
        k_config = k_layer.get_config()
        e_config = e_layer.get_config()
        for key in kwargs:
            assert json.dumps(e_config[key]) == json.dumps(k_config[key])


def test_model_parity_with_keras(keras_ref):
    keras_ref.utils.set_random_seed(1)
    k_model, e_model = _activation_stack(keras_ref), _activation_stack(eigennet)
    weights = [np.array(w) for w in k_model.get_weights()]
    weights[2] = rng.uniform(0.1, 0.5, weights[2].shape).astype(np.float32)  # PReLU's alpha
    k_model.set_weights(weights)
    e_model.set_weights(weights)
    data = np.random.default_rng(5)
    x = data.standard_normal((32, 3, 4)).astype(np.float32)
    y = data.standard_normal((32, 1)).astype(np.float32)
    np.testing.assert_allclose(
        e_model.predict(x, verbose=0), k_model.predict(x, verbose=0), rtol=1e-5, atol=1e-6
    )
    for lib, model in ((keras_ref, k_model), (eigennet, e_model)):
        model.compile(optimizer=lib.optimizers.SGD(0.05), loss="mse")
    assert_trains_like_keras(e_model, k_model, x, y, rtol=1e-4)


def test_keras_file_loads_in_eigennet(keras_ref, tmp_path):
    keras_ref.utils.set_random_seed(3)
    x = rng.standard_normal((6, 3, 4)).astype(np.float32)
    k_model = _activation_stack(keras_ref, {"alpha_initializer": "random_uniform"})
    k_model.save(tmp_path / "from_keras.keras")
    e_loaded = eigennet.models.load_model(tmp_path / "from_keras.keras")
    np.testing.assert_allclose(
        e_loaded.predict(x, verbose=0), k_model.predict(x, verbose=0), rtol=1e-5, atol=1e-6
    )
