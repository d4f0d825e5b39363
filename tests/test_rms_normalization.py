"""RMSNormalization and ops.rms_normalization / ops.layer_normalization: against NumPy and
Keras 3 (values, configs, training on the same weights), gradients against float64 finite
differences, and the errors."""

import os

import numpy as np
import pytest

import eigennet as keras
from eigennet import layers, ops
from gradient_check import assert_gradients_match_finite_differences

RNG = np.random.default_rng(21)
X = RNG.normal(size=(4, 3, 5)).astype("float32")


def _rms_reference(x, scale, axis, epsilon):
    return (
        x / np.sqrt(np.mean(x.astype("float64") ** 2, axis=axis, keepdims=True) + epsilon) * scale
    )


@pytest.mark.parametrize("axis", [-1, [1, 2], 1])
def test_rms_normalization_equals_numpy(axis):
    layer = layers.RMSNormalization(axis=axis, epsilon=1e-5)
    layer.build(X.shape)
    scale = RNG.uniform(0.5, 1.5, size=layer.scale.shape).astype("float32")
    layer.scale.assign(scale)
    axes = tuple(axis) if isinstance(axis, list) else (axis,)
    shaped = scale.reshape([X.shape[a] if a in [k % 3 for k in axes] else 1 for a in range(3)])
    expected = _rms_reference(X, shaped, axes, 1e-5)
    np.testing.assert_allclose(layer(X), expected, rtol=1e-5, atol=1e-6)
    inputs = keras.Input(X.shape[1:])
    model = keras.Model(inputs, layer(inputs))
    np.testing.assert_allclose(model.predict(X, verbose=0), expected, rtol=1e-5, atol=1e-6)


@pytest.fixture(scope="module")
def kr():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    pytest.importorskip("torch")
    return pytest.importorskip("keras")


def test_rms_normalization_trains_like_keras_and_configs_match(kr):
    from keras_parity import assert_trains_like_keras

    def build(lib):
        return lib.Sequential(
            [
                lib.Input((3, 5)),
                lib.layers.Dense(6),
                lib.layers.RMSNormalization(epsilon=1e-5),
                lib.layers.Flatten(),
                lib.layers.Dense(2),
            ]
        )

    ours, theirs = build(keras), build(kr)
    theirs.set_weights(ours.get_weights())
    for m, lib in ((ours, keras), (theirs, kr)):
        m.compile(lib.optimizers.Adam(0.01), "mse")
    y = RNG.normal(size=(4, 2)).astype("float32")
    assert_trains_like_keras(ours, theirs, X, y, batch_size=2)
    mine, keras_config = ours.layers[1].get_config(), theirs.layers[1].get_config()
    for key in ("axis", "epsilon", "trainable"):
        assert mine[key] == keras_config[key]
    assert [w.name for w in ours.layers[1].weights] == ["scale"]


@pytest.mark.parametrize(
    "fn",
    [
        lambda o, x: o.rms_normalization(x, axis=-1, epsilon=1e-4),
        lambda o, x: o.rms_normalization(x, scale=np.linspace(0.5, 1, 5, dtype="float32")),
        lambda o, x: o.layer_normalization(
            x, gamma=np.linspace(0.5, 1, 5, dtype="float32"), beta=np.ones(5, "float32")
        ),
        lambda o, x: o.layer_normalization(x, axis=[1, 2], epsilon=1e-3),
    ],
)
def test_normalization_ops_equal_keras(kr, fn):
    expected = kr.ops.convert_to_numpy(fn(kr.ops, X))
    np.testing.assert_allclose(fn(ops, X), expected, rtol=2e-5, atol=2e-5)
    inputs = keras.Input(X.shape[1:])
    model = keras.Model(inputs, fn(ops, inputs))
    np.testing.assert_allclose(model.predict(X, verbose=0), expected, rtol=2e-5, atol=2e-5)


def test_rms_normalization_gradients_match_finite_differences():
    keras.config.set_floatx("float64")
    try:
        model = keras.Sequential(
            [keras.Input((4,)), layers.Dense(5), layers.RMSNormalization(), layers.Dense(2)]
        )
        model.compile("sgd", "mse")
        x, y = RNG.normal(size=(6, 4)), RNG.normal(size=(6, 2))
        assert_gradients_match_finite_differences(model, x, y)
    finally:
        keras.config.set_floatx("float32")


def test_bad_axes_raise():
    with pytest.raises(ValueError, match="out of bounds"):
        layers.RMSNormalization(axis=3).build((None, 4))
    with pytest.raises(ValueError, match="int or a list of ints"):
        layers.RMSNormalization(axis="last")
