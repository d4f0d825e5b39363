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


# -- threshold lists, top_k, class_id (compared with tests/reference/metrics.py and Keras) --

from reference import metrics as ref  # noqa: E402


def _keras():
    ker = pytest.importorskip("keras")
    pytest.importorskip("torch")
    return ker


def _scores(n=90, classes=4, seed=0):
    rs = np.random.RandomState(seed)
    y = (rs.rand(n, classes) < 0.4).astype("float32")
    p = np.clip(0.3 * y + 0.7 * rs.rand(n, classes), 0, 1).astype("float32")
    p[:4] = [0.0, 0.5, 1.0, 0.5]  # on the thresholds, and a tie
    return y, p, rs.rand(n).astype("float32")


CASES = [
    {"thresholds": [0.3, 0.5, 0.7]},
    {"thresholds": [0.7, 0.1, 0.5]},  # reported in the user's order
    {"thresholds": [0.0, 0.5, 1.0]},  # evenly spaced: Keras buckets predictions
    {"thresholds": [0.0, 0.25, 0.5, 0.75, 1.0]},
    {"top_k": 1},
    {"top_k": 2, "thresholds": [0.2, 0.6]},
    {"class_id": 2},
    {"class_id": 1, "top_k": 2},
    {"class_id": 3, "thresholds": [0.0, 0.5, 1.0]},
]


def test_keras_docstring_values():
    m = keras.metrics.Precision()
    m.update_state([0, 1, 1, 1], [1, 0, 1, 1])
    assert m.result() == pytest.approx(2 / 3)
    # Keras's docstring (TensorFlow's tie order: the first of equal scores). Keras on torch
    # gives 1.0 here, torch.topk's order among ties being unspecified.
    top2 = keras.metrics.Precision(top_k=2)
    top2.update_state([0, 0, 1, 1], [1, 1, 1, 1])
    assert top2.result() == 0.0
    top4 = keras.metrics.Precision(top_k=4)
    top4.update_state([0, 0, 1, 1], [1, 1, 1, 1])
    assert top4.result() == 0.5


@pytest.mark.parametrize("kwargs", CASES)
def test_matches_reference_over_batches(kwargs):
    y, p, w = _scores()
    expected = ref.precision_recall(y, p, w, **kwargs)
    for i, cls in enumerate((keras.metrics.Precision, keras.metrics.Recall)):
        m = cls(**kwargs)
        m.update_state(y[:40], p[:40], sample_weight=w[:40])
        m.update_state(y[40:], p[40:], sample_weight=w[40:])
        values = expected[i]
        if len(values) == 1:
            assert m.result() == pytest.approx(values[0], rel=1e-9)
        else:
            assert m.result().dtype == np.float32 and m.result().shape == values.shape
            np.testing.assert_allclose(m.result(), values, rtol=1e-6)


@pytest.mark.parametrize("kwargs", [c for c in CASES if "top_k" not in c])
def test_parity_with_keras_over_weighted_batches(kwargs):
    # (top_k is left out: torch.topk orders ties arbitrarily and the data has ties.)
    ker = _keras()
    y, p, w = _scores(seed=1)
    for name in ("Precision", "Recall"):
        ours, theirs = getattr(keras.metrics, name)(**kwargs), getattr(ker.metrics, name)(**kwargs)
        for s in (slice(0, 30), slice(30, 90)):
            ours.update_state(y[s], p[s], sample_weight=w[s])
            theirs.update_state(y[s], p[s], sample_weight=w[s])
        np.testing.assert_allclose(ours.result(), np.asarray(theirs.result()), rtol=1e-6)


def test_top_k_parity_with_keras_without_ties():
    ker = _keras()
    rs = np.random.RandomState(2)
    y = (rs.rand(60, 5) < 0.3).astype("float32")
    p = rs.permutation(300).reshape(60, 5).astype("float32") / 300  # all distinct
    for kwargs in ({"top_k": 2}, {"top_k": 3, "class_id": 4}, {"top_k": 1, "thresholds": 0.5}):
        for name in ("Precision", "Recall"):
            ours = getattr(keras.metrics, name)(**kwargs)
            theirs = getattr(ker.metrics, name)(**kwargs)
            ours.update_state(y, p)
            theirs.update_state(y, p)
            assert ours.result() == pytest.approx(float(theirs.result()), rel=1e-6)


def test_threshold_lists_flow_through_fit_and_evaluate():
    rs = np.random.RandomState(3)
    x, y = rs.randn(80, 3), rs.randint(0, 2, 80).astype("float32")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(
        keras.optimizers.SGD(learning_rate=0.0),
        "binary_crossentropy",
        metrics=[keras.metrics.Precision(thresholds=[0.3, 0.5, 0.7]), "precision"],
    )
    pred = model.predict(x, verbose=0)
    expected, _ = ref.precision_recall(y, pred[:, 0], thresholds=[0.3, 0.5, 0.7])
    logs = model.evaluate(x, y, batch_size=13, verbose=0, return_dict=True)
    # Keras's log keys: the auto-named object is "precision" (or "precision_<n>" if others
    # were made before), and a repeated key gets "_1".
    keys = sorted(logs)
    assert len(keys) == 3 and "loss" in keys
    vector_key = next(k for k in keys if isinstance(logs[k], np.ndarray))
    np.testing.assert_allclose(logs[vector_key], expected, rtol=1e-6)
    history = model.fit(x, y, batch_size=13, epochs=2, shuffle=False, verbose=0).history
    np.testing.assert_allclose(history[vector_key][1], expected, rtol=1e-6)


def test_config_round_trip():
    m = keras.metrics.Recall(thresholds=[0.2, 0.8], class_id=1, name="r")
    config = m.get_config()
    assert config == {
        "name": "r",
        "dtype": "float32",
        "thresholds": [0.2, 0.8],
        "top_k": None,
        "class_id": 1,
    }
    assert keras.metrics.Recall.from_config(config).get_config() == config


def test_bad_inputs_raise_value_errors():
    with pytest.raises(ValueError, match="class_id is provided, y_pred must be a 2D"):
        keras.metrics.Precision(class_id=0).update_state([1, 0], [0.3, 0.6])
    with pytest.raises(ValueError, match="class_id=5"):
        keras.metrics.Precision(class_id=5).update_state([[1, 0]], [[0.3, 0.6]])
    with pytest.raises(ValueError, match="top_k=3"):
        keras.metrics.Recall(top_k=3).update_state([[1, 0]], [[0.3, 0.6]])


def test_top_k_on_one_dimensional_predictions_ranks_the_batch_as_keras():
    # Keras's top-k acts on the last axis: for 1-D predictions that is the whole batch.
    m = keras.metrics.Recall(top_k=2)
    m.update_state([1, 0, 1, 0], [0.9, 0.1, 0.8, 0.7])
    assert m.result() == 1.0
    column = keras.metrics.Recall(top_k=1)  # shape (n, 1): one value per row, always kept
    column.update_state([[1], [0], [1]], [[0.1], [0.2], [0.3]])
    assert column.result() == 1.0
    with pytest.raises(ValueError, match="ranks the whole batch"):
        keras.metrics.Recall(top_k=2).update_state([1, 0, 1], [0.9, 0.1, 0.8], [1, 2, 3])
