"""Kernel, bias and activity regularizers against a NumPy chain, finite differences and
Keras 3 on the same weights."""

import os

import numpy as np
import pytest
from tests.reference import regularizers as ref

import eigennet as keras


def _model(seed=0):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input(shape=(3,)),
            keras.layers.Dense(
                4,
                activation="tanh",
                kernel_regularizer=keras.regularizers.L1L2(0.01, 0.02),
                bias_regularizer=keras.regularizers.L2(0.03),
                bias_initializer="random_normal",
                activity_regularizer=keras.regularizers.L1(0.05),
            ),
            keras.layers.Dense(1, kernel_regularizer="l2"),
        ]
    )
    model.compile(keras.optimizers.SGD(0.1), "mse")
    return model


def _reference(model, x, y):
    w1, b1, w2, b2 = model.get_weights()
    h = np.tanh(x @ w1 + b1)
    pred = h @ w2 + b2
    n = len(x)
    loss = (
        np.mean((pred - y) ** 2)
        + ref.penalty(w1, 0.01, 0.02)
        + ref.penalty(b1, l2=0.03)
        + ref.penalty(h, l1=0.05) / n
        + ref.penalty(w2, l2=0.01)
    )
    dpred = 2 * (pred - y) / n
    dh = (dpred @ w2.T + ref.gradient(h, l1=0.05) / n) * (1 - h**2)
    grads = [
        x.T @ dh + ref.gradient(w1, 0.01, 0.02),
        dh.sum(0) + ref.gradient(b1, l2=0.03),
        h.T @ dpred + ref.gradient(w2, l2=0.01),
        dpred.sum(0),
    ]
    return loss, grads


def test_loss_and_gradients_match_numpy(float64):
    rs = np.random.RandomState(1)
    x, y = rs.randn(8, 3), rs.randn(8, 1)
    model = _model()
    loss, grads = model._compute_gradients(x, y)
    ref_loss, ref_grads = _reference(model, x, y)
    assert loss == pytest.approx(ref_loss, rel=1e-12)
    for g, r in zip(grads, ref_grads):
        np.testing.assert_allclose(g, r, rtol=1e-10, atol=1e-13)


def test_gradients_match_finite_differences(float64):
    rs = np.random.RandomState(2)
    x, y = rs.randn(6, 3), rs.randn(6, 1)
    model = _model(seed=3)
    _, grads = model._compute_gradients(x, y)
    weights = model.get_weights()
    eps = 1e-6
    for k, w in enumerate(weights):
        for idx in np.ndindex(w.shape):
            shifted = [v.copy() for v in weights]
            shifted[k][idx] += eps
            model.set_weights(shifted)
            up = model._compute_gradients(x, y)[0]
            shifted[k][idx] -= 2 * eps
            model.set_weights(shifted)
            down = model._compute_gradients(x, y)[0]
            assert grads[k][idx] == pytest.approx((up - down) / (2 * eps), rel=1e-5, abs=1e-8)
        model.set_weights(weights)


def test_reported_loss_includes_penalties():
    rs = np.random.RandomState(4)
    x, y = rs.rand(10, 3).astype("float32"), rs.rand(10, 1).astype("float32")
    model = _model()
    model.compile(keras.optimizers.SGD(0.0), "mse")
    expected, _ = _reference(model, x.astype("float64"), y.astype("float64"))
    history = model.fit(x, y, epochs=1, batch_size=10, verbose=0)
    assert history.history["loss"][0] == pytest.approx(expected, rel=1e-5)
    assert model.evaluate(x, y, verbose=0) == pytest.approx(expected, rel=1e-5)


def test_parity_with_keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    ker = pytest.importorskip("keras")
    pytest.importorskip("torch")
    rs = np.random.RandomState(5)
    x, y = rs.rand(32, 3).astype("float32"), rs.rand(32, 1).astype("float32")
    ours = _model()
    theirs = ker.Sequential(
        [
            ker.Input(shape=(3,)),
            ker.layers.Dense(
                4,
                activation="tanh",
                kernel_regularizer=ker.regularizers.L1L2(0.01, 0.02),
                bias_regularizer=ker.regularizers.L2(0.03),
                activity_regularizer=ker.regularizers.L1(0.05),
            ),
            ker.layers.Dense(1, kernel_regularizer="l2"),
        ]
    )
    theirs.compile(ker.optimizers.SGD(0.1), "mse")
    theirs.set_weights(ours.get_weights())
    h_ours = ours.fit(x, y, epochs=3, batch_size=8, shuffle=False, verbose=0).history["loss"]
    h_theirs = theirs.fit(x, y, epochs=3, batch_size=8, shuffle=False, verbose=0).history["loss"]
    np.testing.assert_allclose(h_ours, h_theirs, rtol=1e-4)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("bad", ["l3", lambda w: 0.0, -1])
def test_bad_regularizers(bad):
    with pytest.raises(ValueError):
        keras.layers.Dense(
            2, kernel_regularizer=bad if not isinstance(bad, int) else keras.regularizers.L2(bad)
        )
