"""SensitivityAtSpecificity, SpecificityAtSensitivity, PrecisionAtRecall and
RecallAtPrecision: against a NumPy reference of Keras's definition and against Keras 3
(values with weights and class_id, configs), in fit/evaluate (natively), and the errors."""

import os

import numpy as np
import pytest

import eigennet as keras
from eigennet import layers

RNG = np.random.default_rng(40)
Y = (RNG.uniform(size=(300, 1)) < 0.3).astype("float32")
P = np.clip(0.35 * Y + RNG.uniform(size=(300, 1)) * 0.7, 0, 1).astype("float32")
W = RNG.uniform(0.2, 2.0, size=300).astype("float32")

CLASSES = {
    "SensitivityAtSpecificity": (0.8, lambda tp, fp, tn, fn: (_rate(tn, fp), _rate(tp, fn))),
    "SpecificityAtSensitivity": (0.7, lambda tp, fp, tn, fn: (_rate(tp, fn), _rate(tn, fp))),
    "PrecisionAtRecall": (0.6, lambda tp, fp, tn, fn: (_rate(tp, fn), _rate(tp, fp))),
    "RecallAtPrecision": (0.5, lambda tp, fp, tn, fn: (_rate(tp, fp), _rate(tp, fn))),
}


def _rate(a, b):
    return np.where(a + b > 0, a / np.where(a + b > 0, a + b, 1), 0.0)


def _reference(name, bound, y, p, w, num_thresholds=200):
    """Keras's definition: counts at thresholds [0, 1/(n-1), ..., 1], a prediction counted
    positive above a threshold."""
    t = np.array([0.0] + [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
                 + [1.0], dtype="float32")  # fmt: skip
    above = p.ravel()[None, :] > t[:, None]
    pos = y.ravel()[None, :] != 0
    tp = (above & pos) @ w
    fp = (above & ~pos) @ w
    fn = (~above & pos) @ w
    tn = (~above & ~pos) @ w
    constrained, dependent = CLASSES[name][1](tp, fp, tn, fn)
    return float(np.max(np.where(constrained >= bound, dependent, 0.0), initial=0.0))


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_rate_at_rate_equals_numpy(name):
    bound = CLASSES[name][0]
    metric = getattr(keras.metrics, name)(bound)
    metric.update_state(Y[:150], P[:150])
    metric.update_state(Y[150:], P[150:], sample_weight=W[150:])
    weights = np.concatenate([np.ones(150), W[150:]])
    expected = _reference(name, bound, Y, P, weights)
    np.testing.assert_allclose(float(metric.result()), expected, rtol=1e-6)
    assert 0 < expected <= 1  # the data let the bound be met


@pytest.fixture(scope="module")
def kr():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    pytest.importorskip("torch")
    return pytest.importorskip("keras")


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_rate_at_rate_equals_keras_with_class_id_and_few_thresholds(kr, name):
    bound = CLASSES[name][0]
    y = np.eye(3)[RNG.integers(0, 3, 120)].astype("float32")
    p = np.clip(0.4 * y + RNG.uniform(size=(120, 3)) * 0.7, 0, 1).astype("float32")
    w = RNG.uniform(0.5, 1.5, size=120).astype("float32")
    ours = getattr(keras.metrics, name)(bound, num_thresholds=17, class_id=1)
    theirs = getattr(kr.metrics, name)(bound, num_thresholds=17, class_id=1)
    for m in (ours, theirs):
        m.update_state(y, p, sample_weight=w)
    np.testing.assert_allclose(float(ours.result()), float(theirs.result()), rtol=1e-6)
    mine, config = ours.get_config(), theirs.get_config()
    assert {k: v for k, v in mine.items() if k != "name"} == {
        k: v for k, v in config.items() if k != "name"
    }


def test_in_fit_and_evaluate_equal_the_metric_on_predictions():
    keras.utils.set_random_seed(1)
    x = RNG.normal(size=(300, 4)).astype("float32")
    y = (x[:, :1] + 0.5 * RNG.normal(size=(300, 1)) > 0.3).astype("float32")
    model = keras.Sequential([keras.Input((4,)), layers.Dense(1, activation="sigmoid")])
    metric = keras.metrics.PrecisionAtRecall(0.6, name="p_at_r")
    model.compile("adam", "binary_crossentropy", metrics=[metric])
    model.fit(x, y, epochs=2, batch_size=50, verbose=0)
    logs = model.evaluate(x, y, batch_size=50, verbose=0, return_dict=True)
    check = keras.metrics.PrecisionAtRecall(0.6)
    check.update_state(y, model.predict(x, verbose=0))
    np.testing.assert_allclose(logs["p_at_r"], float(check.result()), rtol=1e-6)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: keras.metrics.PrecisionAtRecall(1.5), "range"),
        (lambda: keras.metrics.RecallAtPrecision(0.5, num_thresholds=0), "num_thresholds"),
        (lambda: keras.metrics.SensitivityAtSpecificity(0.5, num_thresholds=2**40), "num_"),
    ],
)
def test_bad_arguments_raise(make, match):
    with pytest.raises(ValueError, match=match):
        make()
