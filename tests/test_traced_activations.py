"""Activations the core does not run inside a layer: Keras's relu6, softsign, exponential,
hard_sigmoid, hard_silu/hard_swish, mish, log_softmax, log_sigmoid, and functions of your own,
in `layers.Activation` (traced into the graph like a custom layer's call()): values against
NumPy, gradients against float64 finite differences, configs and saving, and the error a
layer that runs its activation natively gives for them."""

import numpy as np
import pytest

import eigennet as keras
from eigennet import activations, layers, ops
from gradient_check import assert_gradients_match_finite_differences


def _softplus(x):
    return np.logaddexp(0.0, x)


REFERENCES = {
    "relu6": lambda x: np.clip(x, 0.0, 6.0),
    "softsign": lambda x: x / (np.abs(x) + 1.0),
    "exponential": np.exp,
    "hard_sigmoid": lambda x: np.clip(x + 3.0, 0.0, 6.0) / 6.0,
    "hard_silu": lambda x: x * np.clip(x + 3.0, 0.0, 6.0) / 6.0,
    "hard_swish": lambda x: x * np.clip(x + 3.0, 0.0, 6.0) / 6.0,
    "mish": lambda x: x * np.tanh(_softplus(x)),
    "log_softmax": lambda x: (
        x
        - x.max(-1, keepdims=True)
        - np.log(np.exp(x - x.max(-1, keepdims=True)).sum(-1, keepdims=True))
    ),
    "log_sigmoid": lambda x: -_softplus(-x),
}

X = np.random.default_rng(5).normal(scale=3.0, size=(6, 7)).astype("float32")


@keras.saving.register_keras_serializable(package="test_traced_activations")
def cube_root_ish(x):
    return x / (1.0 + ops.abs(x)) ** 0.5


@pytest.fixture
def float64():
    keras.config.set_floatx("float64")
    yield
    keras.config.set_floatx("float32")


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_named_activation_in_a_model_equals_numpy(name):
    inputs = keras.Input((7,))
    model = keras.Model(inputs, layers.Activation(name)(inputs))
    expected = REFERENCES[name](X.astype("float64"))
    np.testing.assert_allclose(model.predict(X, verbose=0), expected, rtol=2e-6, atol=2e-6)
    np.testing.assert_allclose(activations.get(name)(X), expected, rtol=2e-6, atol=2e-6)
    saved_as = "hard_silu" if name == "hard_swish" else name  # Keras's name for both
    assert layers.Activation(name).get_config()["activation"] == saved_as


@pytest.mark.parametrize("activation", ["mish", "hard_silu", "log_softmax", cube_root_ish])
def test_traced_activation_gradients_match_finite_differences(float64, activation):
    model = keras.Sequential(
        [keras.Input((5,)), layers.Dense(4), layers.Activation(activation), layers.Dense(2)]
    )
    model.compile("sgd", "mse")
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(6, 5)), rng.normal(size=(6, 2))
    assert_gradients_match_finite_differences(model, x, y)


def test_custom_activation_function_trains_saves_and_loads(tmp_path):
    model = keras.Sequential(
        [
            keras.Input((7,)),
            layers.Dense(8),
            layers.Activation(cube_root_ish),
            layers.Dense(1),
        ]
    )
    model.compile("adam", "mse")
    y = X.sum(1, keepdims=True)
    losses = model.fit(X, y, epochs=5, verbose=0).history["loss"]
    assert losses[-1] < losses[0]
    config = model.layers[1].get_config()["activation"]
    assert config == {  # Keras 3's form: a registered function by its registered name
        "module": "builtins",
        "class_name": "function",
        "config": "test_traced_activations>cube_root_ish",
        "registered_name": "function",
    }
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.layers[1].activation is cube_root_ish
    np.testing.assert_allclose(loaded.predict(X, verbose=0), model.predict(X, verbose=0))


def test_layers_running_their_activation_natively_point_to_activation_layer():
    with pytest.raises(ValueError, match=r"layers\.Activation\(mish\)"):
        layers.Dense(3, activation="mish")
    with pytest.raises(ValueError, match=r"layers\.Activation\(cube_root_ish\)"):
        layers.Dense(3, activation=cube_root_ish)
    with pytest.raises(ValueError, match="Unknown activation 'no_such'"):
        layers.Activation("no_such")
    with pytest.raises(TypeError, match="name or a function"):
        layers.Activation(3)


def test_activations_get_serialize_deserialize_as_keras():
    assert activations.get(None) is activations.linear
    assert activations.get("relu6") is activations.relu6
    assert activations.get(cube_root_ish) is cube_root_ish
    assert activations.serialize(activations.mish) == "mish"
    assert activations.serialize("swish") == "silu"  # as Keras 3 saves it
    assert activations.deserialize(activations.serialize(cube_root_ish)) is cube_root_ish
    assert activations.deserialize("hard_swish") is activations.hard_silu
