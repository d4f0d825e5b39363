"""Flatten, Reshape and Embedding against NumPy, finite differences and Keras 3."""

import os

import numpy as np
import pytest

import eigennet
from eigennet import layers

rng = np.random.default_rng(0)


def test_reshape_and_flatten_keep_the_values_in_order():
    x = rng.normal(size=(4, 2, 3, 2)).astype("float32")
    model = eigennet.Sequential([eigennet.Input(shape=(2, 3, 2)), layers.Reshape((3, -1))])
    assert model.output_shape == (None, 3, 4)
    np.testing.assert_array_equal(model.predict(x, verbose=0), x.reshape(4, 3, 4))
    flat = eigennet.Sequential([eigennet.Input(shape=(2, 3, 2)), layers.Flatten()])
    assert flat.output_shape == (None, 12)
    np.testing.assert_array_equal(flat(x), x.reshape(4, 12))


@pytest.mark.parametrize(
    "target, error",
    [((5, -1), "cannot reshape"), ((2, 7), "cannot reshape"), ((-1, -1), "at most one -1")],
)
def test_reshape_rejects_impossible_targets(target, error):
    with pytest.raises(ValueError, match=error):
        eigennet.Sequential([eigennet.Input(shape=(12,)), layers.Reshape(target)])


def test_flatten_rejects_channels_first():
    with pytest.raises(ValueError, match="channels_last"):
        layers.Flatten(data_format="channels_first")


def test_embedding_forward_is_a_table_lookup():
    layer = layers.Embedding(7, 3)
    model = eigennet.Sequential([eigennet.Input(shape=(4,)), layer])
    idx = rng.integers(0, 7, size=(5, 4))
    table = layer.get_weights()[0]
    assert table.shape == (7, 3) and np.all(np.abs(table) <= 0.05)  # Keras: uniform(-0.05, 0.05)
    np.testing.assert_array_equal(model.predict(idx, verbose=0), table[idx])
    assert model.output_shape == (None, 4, 3) and model.count_params() == 21


def _grad_model(dtype="float64"):
    eigennet.config.set_floatx(dtype)
    try:
        return eigennet.Sequential(
            [
                eigennet.Input(shape=(3,)),
                layers.Embedding(6, 2),
                layers.Reshape((6,)),
                layers.Dense(2, activation="tanh"),
                layers.Flatten(),
                layers.Dense(1),
            ]
        )
    finally:
        eigennet.config.set_floatx("float32")


def test_embedding_gradients_match_finite_differences():
    model = _grad_model()
    model.compile(optimizer="sgd", loss="mse")
    x = np.array([[0, 1, 1], [4, 0, 2], [3, 3, 3]], dtype="float64")  # repeated indices add up
    y = rng.normal(size=(3, 1))
    _, grads = model._compute_gradients(x, y)
    eps = 1e-6
    for var, grad in zip(model.trainable_weights, grads):
        base = var.numpy()
        numeric = np.zeros_like(base)
        for i in np.ndindex(base.shape):
            for sign in (1, -1):
                shifted = base.copy()
                shifted[i] += sign * eps
                var.assign(shifted)
                numeric[i] += sign * model.evaluate(x, y, verbose=0) / (2 * eps)
            var.assign(base)
        np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-8, err_msg=var.path)
    np.testing.assert_array_equal(grads[0][5], 0)  # index 5 is unused: its row gets no gradient


@pytest.mark.parametrize("bad", [7, -1, 2.5])
def test_embedding_rejects_bad_indices_before_training(bad):
    model = eigennet.Sequential(
        [eigennet.Input(shape=(2,)), layers.Embedding(7, 3), layers.Flatten()]
    )
    model.compile(optimizer="sgd", loss="mse")
    x = np.array([[0, 1], [2, bad]])
    before = model.get_weights()[0]
    for call in (
        lambda: model.predict(x, verbose=0),
        lambda: model.fit(x, np.zeros((2, 6)), verbose=0),
    ):
        with pytest.raises(ValueError, match=r"integer indices in \[0, 7\)"):
            call()
    np.testing.assert_array_equal(model.get_weights()[0], before)


def test_embedding_inside_a_model_checks_indices_natively():
    inner = eigennet.Sequential([eigennet.Input(shape=(2,)), layers.Embedding(4, 2)])
    outer = eigennet.Sequential([eigennet.Input(shape=(2,)), layers.Dense(2), inner])
    with pytest.raises(ValueError, match=r"not an integer index in \[0, 4\)"):
        outer.predict(np.array([[0.3, 0.1]]), verbose=0)


@pytest.mark.parametrize(
    "kwargs, error",
    [
        (dict(input_dim=0, output_dim=2), "input_dim"),
        (dict(input_dim=3, output_dim=2.5), "output_dim"),
        (dict(input_dim=2**25, output_dim=2), "float64"),
    ],
)
def test_embedding_argument_errors(kwargs, error):
    with pytest.raises(ValueError, match=error):
        layers.Embedding(**kwargs)


def test_configs_round_trip():
    for layer in (layers.Reshape((2, -1)), layers.Flatten(), layers.Embedding(9, 4, name="emb")):
        clone = type(layer).from_config(layer.get_config())
        assert clone.get_config() == layer.get_config()


def test_embedding_model_trains_like_keras():
    os.environ["KERAS_BACKEND"] = "torch"
    pytest.importorskip("torch")
    keras = pytest.importorskip("keras")
    keras.utils.set_random_seed(0)

    def build(lib):
        return lib.Sequential(
            [
                lib.Input(shape=(6,)),
                lib.layers.Embedding(20, 4),
                lib.layers.Flatten(),
                lib.layers.Dense(8, activation="relu"),
                lib.layers.Reshape((2, 4)),
                lib.layers.Flatten(),
                lib.layers.Dense(3, activation="softmax"),
            ]
        )

    k_model, e_model = build(keras), build(eigennet)
    e_model.set_weights([np.array(w) for w in k_model.get_weights()])
    assert [w.shape for w in e_model.weights] == [tuple(w.shape) for w in k_model.weights]
    x = rng.integers(0, 20, size=(64, 6))
    y = rng.integers(0, 3, size=64)
    for model, lib in ((k_model, keras), (e_model, eigennet)):
        model.compile(optimizer=lib.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    k_hist = k_model.fit(x, y, epochs=3, batch_size=16, shuffle=False, verbose=0)
    e_hist = e_model.fit(x, y, epochs=3, batch_size=16, shuffle=False, verbose=0)
    np.testing.assert_allclose(e_hist.history["loss"], k_hist.history["loss"], rtol=1e-4)
    for kw, ew in zip(k_model.get_weights(), e_model.get_weights()):
        np.testing.assert_allclose(ew, kw, rtol=1e-4, atol=1e-5)


def test_embedding_on_a_1d_array_gives_one_vector_per_id():
    layer = layers.Embedding(10, 4)
    ids = np.arange(5)
    np.testing.assert_array_equal(layer(ids), layer.get_weights()[0][:5])  # Keras: (5, 4)
    assert layer(np.arange(6).reshape(2, 3)).shape == (2, 3, 4)  # then other shapes still work
