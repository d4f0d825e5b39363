"""Parity with Keras 3 (torch backend) for functional models: the same architecture built with
both libraries, the same initial weights, three epochs of training without shuffling; the
histories, the trained weights and the predictions must agree."""

import os

import numpy as np
import pytest

os.environ["KERAS_BACKEND"] = "torch"
pytest.importorskip("torch")
keras_ref = pytest.importorskip("keras")

import eigennet  # noqa: E402
from keras_parity import assert_trains_like_keras  # noqa: E402

RNG = np.random.default_rng(0)


def residual_mlp(k):
    inputs = k.Input((6,))
    x = k.layers.Dense(8, activation="relu")(inputs)
    block = k.layers.Dense(8, activation="relu")(x)
    block = k.layers.Dense(8)(block)
    x = k.layers.ReLU()(k.layers.Add()([block, x]))
    model = k.Model(inputs, k.layers.Dense(3, activation="softmax")(x))
    model.compile(optimizer=k.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    return model, RNG.normal(size=(32, 6)), RNG.integers(0, 3, 32)


def two_inputs_concatenated(k):
    wide, deep = k.Input((3,), name="wide"), k.Input((5,), name="deep")
    d = k.layers.Dense(6, activation="tanh")(deep)
    joined = k.layers.concatenate([wide, d])
    model = k.Model([wide, deep], k.layers.Dense(1, activation="sigmoid")(joined))
    model.compile(
        optimizer=k.optimizers.RMSprop(0.01), loss="binary_crossentropy", metrics=["accuracy"]
    )
    x = [RNG.normal(size=(32, 3)), RNG.normal(size=(32, 5))]
    return model, x, RNG.integers(0, 2, (32, 1)).astype("float32")


def two_outputs(k):
    inputs = k.Input((4,), name="features")
    hidden = k.layers.Dense(8, activation="tanh", name="hidden")(inputs)
    reg = k.layers.Dense(1, name="reg")(hidden)
    cls = k.layers.Dense(3, activation="softmax", name="cls")(hidden)
    model = k.Model(inputs, [reg, cls])
    model.compile(
        optimizer=k.optimizers.Adam(0.01),
        loss=["mse", "sparse_categorical_crossentropy"],
        loss_weights=[1.0, 0.5],
        metrics=[["mae"], ["accuracy"]],
    )
    return model, RNG.normal(size=(32, 4)), [RNG.normal(size=(32, 1)), RNG.integers(0, 3, 32)]


def siamese(k):
    left, right = k.Input((5,)), k.Input((5,))
    tower = k.Sequential([k.Input((5,)), k.layers.Dense(4, activation="tanh")])
    distance = k.layers.Subtract()([tower(left), tower(right)])
    product = k.layers.Multiply()([tower(left), tower(right)])
    merged = k.layers.Concatenate()([distance, product])
    model = k.Model([left, right], k.layers.Dense(1, activation="sigmoid")(merged))
    model.compile(optimizer=k.optimizers.SGD(0.1, momentum=0.9), loss="binary_crossentropy")
    x = [RNG.normal(size=(32, 5)), RNG.normal(size=(32, 5))]
    return model, x, RNG.integers(0, 2, (32, 1)).astype("float32")


def functional_in_sequential(k):
    inputs = k.Input((4,))
    branch = k.layers.Average()([k.layers.Dense(3)(inputs), k.layers.Dense(3)(inputs)])
    inner = k.Model(inputs, k.layers.LeakyReLU(0.2)(branch))
    model = k.Sequential([k.Input((4,)), inner, k.layers.Dense(2, activation="softmax")])
    model.compile(optimizer=k.optimizers.Adam(0.01), loss="categorical_crossentropy")
    y = np.eye(2)[RNG.integers(0, 2, 32)]
    return model, RNG.normal(size=(32, 4)), y


def sequential_in_functional(k):
    stack = k.Sequential([k.Input((4,)), k.layers.Dense(5, activation="relu"), k.layers.Dense(3)])
    inputs = k.Input((4,))
    x = k.layers.Maximum()([stack(inputs), k.layers.Dense(3)(inputs)])
    model = k.Model(inputs, k.layers.Dense(1)(x))
    model.compile(optimizer=k.optimizers.Adam(0.01), loss="mse", metrics=["mae"])
    return model, RNG.normal(size=(32, 4)), RNG.normal(size=(32, 1))


CASES = [
    residual_mlp,
    two_inputs_concatenated,
    two_outputs,
    siamese,
    functional_in_sequential,
    sequential_in_functional,
]


@pytest.mark.parametrize("make", CASES, ids=[c.__name__ for c in CASES])
def test_functional_model_trains_like_keras(make):
    ours, x, y = make(eigennet)
    theirs, _, _ = make(keras_ref)
    assert [w.shape for w in ours.get_weights()] == [tuple(w.shape) for w in theirs.get_weights()]
    theirs.set_weights(ours.get_weights())
    assert_trains_like_keras(ours, theirs, x, y)


def test_keras_reads_our_config_and_we_load_keras_files(tmp_path):
    ours, x, _ = two_inputs_concatenated(eigennet)
    rebuilt = keras_ref.models.model_from_json(ours.to_json())
    assert rebuilt.output_names == ours.output_names
    assert sorted(layer.name for layer in rebuilt.layers) == sorted(
        layer.name for layer in ours.layers
    )
    pytest.importorskip("h5py")
    theirs, x, _ = two_outputs(keras_ref)
    path = tmp_path / "keras_written.keras"
    theirs.save(path)
    loaded = eigennet.models.load_model(path)
    assert loaded.output_names == ["reg", "cls"]
    for a, b in zip(loaded.predict(x, verbose=0), theirs.predict(x, verbose=0)):
        np.testing.assert_allclose(a, np.asarray(b), rtol=1e-5, atol=1e-6)
