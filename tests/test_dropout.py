"""Dropout against the NumPy reference (the same counter-based masks), and Keras semantics."""

import numpy as np
import pytest
from tests.reference import dropout as ref

import eigennet as keras


def test_inference_is_identity():
    x = np.random.RandomState(0).rand(5, 7).astype("float32")
    layer = keras.layers.Dropout(0.5, seed=3)
    np.testing.assert_array_equal(layer(x), x)
    model = keras.Sequential([keras.Input(shape=(7,)), keras.layers.Dropout(0.9, seed=1)])
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)


@pytest.mark.parametrize("rate", [0.0, 0.25, 0.5, 0.9, 1.0])
def test_training_forward_matches_reference(rate):
    x = np.random.RandomState(1).randn(6, 5, 3).astype("float32")
    model = keras.Sequential([keras.Input(shape=(5, 3)), keras.layers.Dropout(rate, seed=42)])
    for draw in range(3):  # every training call draws a new mask
        got = model(x, training=True)
        expected = (
            x if rate == 0 else ref.forward(x.reshape(6, -1), 42, draw, rate).reshape(x.shape)
        )
        np.testing.assert_array_equal(got, expected)


def test_dropped_fraction_and_scale():
    x = np.ones((1000, 100), dtype="float32")
    out = keras.layers.Dropout(0.3, seed=7)(x, training=True)
    assert set(np.unique(out)) <= {0.0, np.float32(1 / 0.7)}
    assert abs((out == 0).mean() - 0.3) < 0.01


def test_gradients_use_the_forward_mask(float64):
    """Dense -> Dropout -> Dense: gradients equal the NumPy chain with the reference mask."""
    rs = np.random.RandomState(2)
    x, y = rs.randn(8, 4), rs.randn(8, 1)
    model = keras.Sequential(
        [
            keras.Input(shape=(4,)),
            keras.layers.Dense(6, activation="tanh"),
            keras.layers.Dropout(0.4, seed=11),
            keras.layers.Dense(1),
        ]
    )
    model.compile("sgd", "mse")
    w1, b1, w2, b2 = model.get_weights()
    loss, grads = model._compute_gradients(x, y)  # the first training forward: draw 0
    h = np.tanh(x @ w1 + b1)
    dropped = ref.forward(h, 11, 0, 0.4)
    pred = dropped @ w2 + b2
    dpred = 2 * (pred - y) / len(x)
    dh = ref.backward(dpred @ w2.T, 11, 0, 0.4) * (1 - h**2)
    expected = [x.T @ dh, dh.sum(0), dropped.T @ dpred, dpred.sum(0)]
    assert loss == pytest.approx(np.mean((pred - y) ** 2), rel=1e-12)
    for g, e in zip(grads, expected):
        np.testing.assert_allclose(g, e, rtol=1e-10, atol=1e-12)


def test_seeded_training_is_reproducible_and_evaluate_does_not_drop():
    rs = np.random.RandomState(3)
    x, y = rs.rand(64, 4).astype("float32"), rs.rand(64, 1).astype("float32")

    def run():
        keras.utils.set_random_seed(5)
        model = keras.Sequential(
            [
                keras.Input(shape=(4,)),
                keras.layers.Dense(16, activation="relu"),
                keras.layers.Dropout(0.5),
                keras.layers.Dense(1),
            ]
        )
        model.compile("adam", "mse")
        model.fit(x, y, epochs=3, batch_size=16, verbose=0)
        return model

    a, b = run(), run()
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)
    assert a.evaluate(x, y, verbose=0) == a.evaluate(x, y, verbose=0)  # no randomness


@pytest.mark.parametrize("rate", [-0.1, 1.5, "half", True])
def test_bad_rate(rate):
    with pytest.raises(ValueError, match="rate"):
        keras.layers.Dropout(rate)


def test_keras_defaults_and_config():
    layer = keras.layers.Dropout(0.2)
    assert layer.name.startswith("dropout") and layer.get_config()["rate"] == 0.2
    model = keras.Sequential([keras.Input(shape=(3,)), layer, keras.layers.Dense(1)])
    assert model.count_params() == 4 and layer.weights == []


@pytest.mark.parametrize("sequential", [False, True])
def test_noise_shape_shares_one_draw_along_its_unit_axes(sequential):
    layer = keras.layers.Dropout(0.5, noise_shape=(None, 1, 6), seed=3)
    if sequential:
        model = keras.Sequential([keras.Input((5, 6)), layer])
    else:
        inputs = keras.Input((5, 6))
        model = keras.Model(inputs, layer(inputs))
    model.compile(optimizer="sgd", loss="mse")
    x = np.ones((4, 5, 6), dtype="float32")
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)  # inference: identity
    out = model(x, training=True)
    assert set(np.unique(out)) <= {0.0, 2.0} and (out == 0).any() and (out == 2).any()
    np.testing.assert_array_equal(out, np.broadcast_to(out[:, :1, :], out.shape))  # per step
    config = layer.get_config()
    assert config["noise_shape"] == [None, 1, 6]
    assert keras.layers.Dropout.from_config(config).noise_shape == (None, 1, 6)


def test_noise_shape_eager_and_bad_values():
    layer = keras.layers.Dropout(0.5, noise_shape=(1, 3))
    x = np.ones((4, 3), dtype="float32")
    np.testing.assert_array_equal(layer(x), x)
    dropped = layer(x, training=True)
    np.testing.assert_array_equal(dropped, np.broadcast_to(dropped[:1], x.shape))
    with pytest.raises(ValueError, match="noise_shape"):
        keras.layers.Dropout(0.5, noise_shape=(None, 0))
