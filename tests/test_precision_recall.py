"""Precision and Recall: Keras 3's values (recorded from keras 3.15), native accumulation in
fit/evaluate, and parity with Keras on the same weights."""

import os

import numpy as np
import pytest

import eigennet as keras

Y_TRUE = [[1], [0], [1], [1]]
Y_PRED = [[0.6], [0.7], [0.4], [0.9]]


def test_standalone_values_match_keras():
    p = keras.metrics.Precision()
    p.update_state(Y_TRUE, Y_PRED, sample_weight=[1, 2, 3, 4])
    assert p.result() == pytest.approx(0.7142857313156128)  # Keras's value
    r = keras.metrics.Recall(thresholds=0.3)
    r.update_state(Y_TRUE, Y_PRED)
    assert r.result() == pytest.approx(1.0)
    empty = keras.metrics.Precision()
    assert empty.result() == 0.0  # divide_no_nan


def _model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(
        "sgd",
        "binary_crossentropy",
        metrics=["precision", keras.metrics.Recall(thresholds=0.4, name="rec")],
    )
    return model


def test_native_accumulation_equals_the_standalone_metric():
    rs = np.random.RandomState(1)
    x, y = rs.randn(50, 3), rs.randint(0, 2, 50)
    model = _model()
    logs = model.evaluate(x, y, batch_size=7, verbose=0, return_dict=True)
    pred = model.predict(x, verbose=0)
    for metric, key in (
        (keras.metrics.Precision(), "precision"),
        (keras.metrics.Recall(thresholds=0.4), "rec"),
    ):
        metric.update_state(y[:, None], pred)
        assert logs[key] == pytest.approx(metric.result(), rel=1e-6)
    history = model.fit(x, y, epochs=2, verbose=0)
    assert sorted(history.history) == ["loss", "precision", "rec"]


def test_parity_with_keras_in_fit():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    ker = pytest.importorskip("keras")
    pytest.importorskip("torch")
    rs = np.random.RandomState(2)
    x, y = rs.randn(64, 3).astype("float32"), rs.randint(0, 2, 64).astype("float32")
    ours = _model()
    theirs = ker.Sequential([ker.Input(shape=(3,)), ker.layers.Dense(1, activation="sigmoid")])
    theirs.compile(
        "sgd",
        "binary_crossentropy",
        metrics=[
            ker.metrics.Precision(name="precision"),
            ker.metrics.Recall(thresholds=0.4, name="rec"),
        ],
    )
    theirs.set_weights(ours.get_weights())
    h1 = ours.fit(x, y, epochs=3, batch_size=16, shuffle=False, verbose=0).history
    h2 = theirs.fit(x, y, epochs=3, batch_size=16, shuffle=False, verbose=0).history
    for key in ("loss", "precision", "rec"):
        np.testing.assert_allclose(h1[key], h2[key], rtol=1e-5, err_msg=key)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match=r"Threshold values must be in \[0, 1\]"):
        keras.metrics.Recall(thresholds=[0.3, 1.5])
    with pytest.raises(ValueError, match="top_k must be an integer >= 1"):
        keras.metrics.Precision(top_k=0)
    with pytest.raises(ValueError, match="class_id must be an integer >= 0"):
        keras.metrics.Precision(class_id=-1)
