"""Smaller Keras 3 names: utils.pack_x_y_sample_weight / unpack_x_y_sample_weight /
is_keras_tensor / get_source_inputs (custom train_step code), the Identity initializer and
OrthogonalInitializer, and the PearsonCorrelation / ConcordanceCorrelation metrics (against
NumPy and Keras, and traced in fit)."""

import os

import numpy as np
import pytest

import eigennet as keras
from eigennet import layers, utils


def test_pack_and_unpack_as_keras():
    assert utils.pack_x_y_sample_weight(1) == 1
    assert utils.pack_x_y_sample_weight([1, 2]) == ([1, 2],)
    assert utils.pack_x_y_sample_weight(1, 2) == (1, 2)
    assert utils.pack_x_y_sample_weight(1, 2, 3) == (1, 2, 3)
    assert utils.unpack_x_y_sample_weight(1) == (1, None, None)
    assert utils.unpack_x_y_sample_weight([1, 2]) == (1, 2, None)
    assert utils.unpack_x_y_sample_weight((1, 2, 3)) == (1, 2, 3)
    with pytest.raises(ValueError, match="expected to be in format"):
        utils.unpack_x_y_sample_weight((1, 2, 3, 4))


def test_symbolic_tensor_helpers():
    a, b = keras.Input((3,)), keras.Input((2,))
    out = layers.Dense(1)(layers.concatenate([layers.Dense(2)(a), b]))
    assert utils.is_keras_tensor(out) and not utils.is_keras_tensor(np.ones(2))
    assert utils.get_source_inputs(out) == [a, b]
    assert utils.get_source_inputs(a) == [a]
    with pytest.raises(ValueError, match="symbolic tensor"):
        utils.get_source_inputs(np.ones(2))


def test_identity_and_orthogonal_initializer_names():
    init = keras.initializers.get("identity")
    np.testing.assert_array_equal(init((2, 3)), np.eye(2, 3))
    np.testing.assert_array_equal(keras.initializers.Identity(gain=2.0)((2, 2)), 2 * np.eye(2))
    assert keras.initializers.serialize(keras.initializers.Identity())["config"] == {}
    assert keras.initializers.IdentityInitializer is keras.initializers.Identity
    assert keras.initializers.OrthogonalInitializer is keras.initializers.Orthogonal
    with pytest.raises(ValueError, match="2D matrices"):
        init((2, 2, 2))


def _pearson(t, p):
    t = t - t.mean(-1, keepdims=True)
    p = p - p.mean(-1, keepdims=True)
    return (t * p).mean(-1) / (t.std(-1) * p.std(-1))


def _concordance(t, p):
    tm, pm = t.mean(-1, keepdims=True), p.mean(-1, keepdims=True)
    norm = t.var(-1, keepdims=True) + p.var(-1, keepdims=True) + (tm - pm) ** 2
    return (2 * (t - pm) * (p - pm) / (norm + 1e-7)).mean(-1)  # (Keras's formula)


RNG = np.random.default_rng(4)
YT = RNG.normal(size=(12, 5)).astype("float32")
YP = (YT + 0.5 * RNG.normal(size=(12, 5))).astype("float32")
W = RNG.uniform(0.5, 2.0, size=12).astype("float32")


@pytest.mark.parametrize(
    "name, reference",
    [("PearsonCorrelation", _pearson), ("ConcordanceCorrelation", _concordance)],
)
def test_correlation_metrics_equal_numpy_and_keras(name, reference):
    metric = getattr(keras.metrics, name)()
    metric.update_state(YT[:6], YP[:6])
    metric.update_state(YT[6:], YP[6:], sample_weight=W[6:])
    per_sample = reference(YT.astype("float64"), YP.astype("float64"))
    weights = np.concatenate([np.ones(6), W[6:]])
    expected = (per_sample * weights).sum() / weights.sum()
    np.testing.assert_allclose(float(metric.result()), expected, rtol=1e-5)
    os.environ.setdefault("KERAS_BACKEND", "torch")
    pytest.importorskip("torch")
    kr = pytest.importorskip("keras")
    theirs = getattr(kr.metrics, name)()
    theirs.update_state(YT[:6], YP[:6])
    theirs.update_state(YT[6:], YP[6:], sample_weight=W[6:])
    np.testing.assert_allclose(float(metric.result()), float(theirs.result()), rtol=1e-5)
    assert metric.get_config() == theirs.get_config()


def test_correlation_metrics_in_fit_equal_their_values_on_the_predictions():
    model = keras.Sequential([keras.Input((5,)), layers.Dense(5)])
    model.compile("sgd", "mse", metrics=["pearson_correlation", "concordance_correlation"])
    logs = model.evaluate(YT, YP, batch_size=12, verbose=0, return_dict=True)
    pred = model.predict(YT, verbose=0).astype("float64")
    truth = YP.astype("float64")
    np.testing.assert_allclose(logs["pearson_correlation"], _pearson(truth, pred).mean(), rtol=1e-5)
    np.testing.assert_allclose(
        logs["concordance_correlation"], _concordance(truth, pred).mean(), rtol=1e-5
    )
