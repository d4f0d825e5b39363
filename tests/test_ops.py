"""eigennet.ops in functional models: eager on arrays against NumPy, recorded on symbolic
tensors (operators and constants too) into functional models whose gradients match finite
differences, and parity with Keras 3's ops in a model."""

import os

import numpy as np
import pytest

import eigennet as keras
from eigennet import layers, ops
from gradient_check import assert_gradients_match_finite_differences

RNG = np.random.default_rng(3)


@pytest.mark.parametrize(
    "op, reference",
    [
        (ops.add, np.add),
        (ops.subtract, np.subtract),
        (ops.multiply, np.multiply),
        (ops.maximum, np.maximum),
        (ops.minimum, np.minimum),
    ],
)
def test_binary_ops_on_arrays_match_numpy(op, reference):
    a, b = RNG.normal(size=(4, 3)), RNG.normal(size=(1, 3))
    np.testing.assert_array_equal(op(a, b), reference(a, b))


def test_activations_and_concatenate_on_arrays():
    x = RNG.normal(size=(5, 4))
    np.testing.assert_allclose(ops.relu(x), np.maximum(x, 0), rtol=1e-6)
    np.testing.assert_allclose(ops.sigmoid(x), 1 / (1 + np.exp(-x)), rtol=1e-5)
    np.testing.assert_allclose(ops.tanh(x), np.tanh(x), rtol=1e-5)
    e = np.exp(x - x.max(axis=0))
    np.testing.assert_allclose(ops.softmax(x, axis=0), e / e.sum(axis=0), rtol=1e-5)
    np.testing.assert_array_equal(ops.concatenate([x, x], axis=0), np.concatenate([x, x]))


def _ops_model():
    inputs = keras.Input((4,))
    h = layers.Dense(4, activation="tanh")(inputs)
    x = ops.relu(inputs + h) * h  # operators and ops between symbolic tensors
    x = ops.concatenate([x, inputs - h], axis=-1)
    x = ops.maximum(ops.sigmoid(x), ops.tanh(x))
    return keras.Model(inputs, layers.Dense(2)(ops.softmax(x)))


def test_ops_on_symbolic_tensors_train_with_exact_gradients(float64):
    model = _ops_model()
    model.compile(optimizer="sgd", loss="mse")
    x, y = RNG.normal(size=(6, 4)), RNG.normal(size=(6, 2))
    assert_gradients_match_finite_differences(model, x, y, rtol=1e-5, atol=1e-8)
    before = model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=20, verbose=0)
    assert model.evaluate(x, y, verbose=0) < before


def test_keras_activations_record_layers_on_symbolic_tensors():
    inputs = keras.Input((3,))
    outputs = keras.activations.relu(layers.Dense(3)(inputs))
    model = keras.Model(inputs, outputs)
    assert type(model.layers[-1]).__name__ == "Activation"
    assert (model.predict(RNG.normal(size=(4, 3)), verbose=0) >= 0).all()


def test_constants_are_operands_and_missing_ops_say_so():
    x = keras.Input((3,))
    model = keras.Model(x, [x * 2.0, np.float32(2.0) + x, 1.0 - x, x / np.arange(1.0, 4.0)])
    data = RNG.normal(size=(4, 3)).astype("float32")
    for got, want in zip(
        model.predict(data, verbose=0), [data * 2, data + 2, 1 - data, data / [1, 2, 3]]
    ):
        np.testing.assert_allclose(got, want, rtol=1e-6)
    with pytest.raises(AttributeError, match="no 'no_such_op'; it has: .*matmul"):
        ops.no_such_op  # noqa: B018


def test_parity_with_keras_ops():
    os.environ["KERAS_BACKEND"] = "torch"
    pytest.importorskip("torch")
    real = pytest.importorskip("keras")
    from keras_parity import assert_trains_like_keras

    def build(k):
        inputs = k.Input((4,))
        h = k.layers.Dense(4, activation="tanh")(inputs)
        x = k.ops.relu(inputs + h) * h
        x = k.ops.concatenate([x, inputs - h], axis=-1)
        model = k.Model(inputs, k.layers.Dense(1)(k.ops.maximum(x, k.ops.sigmoid(x))))
        model.compile(optimizer=k.optimizers.Adam(0.01), loss="mse")
        return model

    ours, theirs = build(keras), build(real)
    theirs.set_weights(ours.get_weights())
    x, y = RNG.normal(size=(32, 4)), RNG.normal(size=(32, 1))
    assert_trains_like_keras(ours, theirs, x, y)
