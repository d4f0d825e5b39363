"""F1Score and FBetaScore: Keras's docstring values, the NumPy reference, scikit-learn,
Keras 3 itself, per-class values through fit/evaluate/History, config and bad input."""

import csv

import numpy as np
import pytest

import eigennet as keras
from reference import metrics as ref

AVERAGES = [None, "micro", "macro", "weighted"]
Y_DOC = np.array([[1, 1, 1], [1, 0, 0], [1, 1, 0]], np.int32)
P_DOC = np.array([[0.2, 0.6, 0.7], [0.2, 0.6, 0.6], [0.6, 0.8, 0.0]], np.float32)


def _keras():
    ker = pytest.importorskip("keras")
    pytest.importorskip("torch")
    return ker


def _data(n=120, classes=4, seed=0):
    rs = np.random.RandomState(seed)
    labels = rs.randint(0, classes, n)
    y = np.eye(classes, dtype="float32")[labels]
    p = rs.rand(n, classes).astype("float32")
    p[np.arange(n), labels] += 0.4 * rs.rand(n).astype("float32")
    p[:6] = 0.5  # ties: every tied maximum counts as predicted
    p[6:9] = 0.0  # all zero: nothing predicted
    return y, p / p.sum(axis=1, keepdims=True).clip(1e-9), rs.rand(n).astype("float32")


def test_keras_docstring_values():
    f1 = keras.metrics.F1Score(threshold=0.5)
    f1.update_state(Y_DOC, P_DOC)
    np.testing.assert_allclose(f1.result(), [0.5, 0.8, 0.6666667], rtol=1e-6)
    fb = keras.metrics.FBetaScore(beta=2.0, threshold=0.5)
    fb.update_state(Y_DOC, P_DOC)
    np.testing.assert_allclose(fb.result(), [0.3846154, 0.90909094, 0.8333334], rtol=1e-6)
    assert f1.result().dtype == np.float32 and f1.result().shape == (3,)


@pytest.mark.parametrize("average", AVERAGES)
@pytest.mark.parametrize("threshold", [None, 0.3])
@pytest.mark.parametrize("beta", [1.0, 0.5, 2.0])
def test_matches_reference_over_batches(average, threshold, beta):
    y, p, w = _data()
    m = keras.metrics.FBetaScore(average=average, beta=beta, threshold=threshold)
    m.update_state(y[:50], p[:50], sample_weight=w[:50])
    m.update_state(y[50:], p[50:], sample_weight=w[50:])
    expected = ref.fbeta(y, p, w, average=average, beta=beta, threshold=threshold)
    np.testing.assert_allclose(m.result(), expected, rtol=1e-6)
    assert np.ndim(m.result()) == (1 if average is None else 0)


def test_argmax_rule_without_threshold():
    f1 = keras.metrics.F1Score()
    # row 1: tie -> both predicted; row 2: all zero -> none; row 3: negative maximum.
    f1.update_state([[1, 0], [1, 0], [0, 1]], [[0.5, 0.5], [0.0, 0.0], [-0.2, -0.1]])
    # class 0: tp 1, fp 0, fn 1 -> 2/3; class 1: tp 1, fp 1, fn 0 -> 2/3
    np.testing.assert_allclose(f1.result(), [2 / 3, 2 / 3], rtol=1e-6)


def test_empty_classes_score_zero():
    f1 = keras.metrics.F1Score(average="macro")
    f1.update_state(np.zeros((2, 3)), np.zeros((2, 3)))
    assert f1.result() == 0.0


def test_close_to_scikit_learn():
    sk = pytest.importorskip("sklearn.metrics")
    y, p, w = _data(n=300, seed=1)
    hard = (p > 0.3).astype(int)
    for average in ("micro", "macro", "weighted"):
        m = keras.metrics.F1Score(average=average, threshold=0.3)
        m.update_state(y, p, sample_weight=w)
        expected = sk.f1_score(y.astype(int), hard, average=average, sample_weight=w)
        assert m.result() == pytest.approx(expected, abs=1e-5)
    per_class = keras.metrics.FBetaScore(beta=2.0, threshold=0.3)
    per_class.update_state(y, p)
    expected = sk.fbeta_score(y.astype(int), hard, beta=2.0, average=None)
    np.testing.assert_allclose(per_class.result(), expected, atol=1e-5)


@pytest.mark.parametrize("average", AVERAGES)
@pytest.mark.parametrize("threshold", [None, 0.25])
def test_parity_with_keras_over_weighted_batches(average, threshold):
    ker = _keras()
    y, p, w = _data(seed=2)
    ours = keras.metrics.FBetaScore(average=average, beta=1.5, threshold=threshold)
    theirs = ker.metrics.FBetaScore(average=average, beta=1.5, threshold=threshold)
    for s in (slice(0, 40), slice(40, 120)):
        ours.update_state(y[s], p[s], sample_weight=w[s])
        theirs.update_state(y[s], p[s], sample_weight=w[s])
    np.testing.assert_allclose(ours.result(), np.asarray(theirs.result()), rtol=2e-6, atol=1e-7)


def _model(metrics):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(shape=(5,)), keras.layers.Dense(4, activation="softmax")])
    model.compile(
        keras.optimizers.SGD(learning_rate=0.0), "categorical_crossentropy", metrics=metrics
    )
    return model


def _classification(n=90, seed=3):
    rs = np.random.RandomState(seed)
    x = rs.randn(n, 5).astype("float32")
    return x, np.eye(4, dtype="float32")[rs.randint(0, 4, n)]


def test_per_class_values_flow_through_fit_evaluate_and_history(tmp_path):
    x, y = _classification()
    model = _model(["f1_score", keras.metrics.FBetaScore(average="macro", beta=2.0, name="fb")])
    pred = model.predict(x, verbose=0)
    f1, fb = ref.fbeta(y, pred), ref.fbeta(y, pred, average="macro", beta=2.0)

    loss, f1_value, fb_value = model.evaluate(x, y, batch_size=16, verbose=0)
    assert isinstance(loss, float) and isinstance(fb_value, float)
    assert isinstance(f1_value, np.ndarray) and f1_value.dtype == np.float32
    np.testing.assert_allclose(f1_value, f1, rtol=1e-6)
    assert fb_value == pytest.approx(fb, rel=1e-6)

    csv_path = tmp_path / "log.csv"
    history = model.fit(
        x,
        y,
        batch_size=16,
        epochs=2,
        shuffle=False,
        verbose=0,
        validation_data=(x, y),
        callbacks=[keras.callbacks.CSVLogger(str(csv_path))],
    ).history
    assert sorted(history) == ["f1_score", "fb", "loss", "val_f1_score", "val_fb", "val_loss"]
    assert len(history["f1_score"]) == 2 and history["f1_score"][0].shape == (4,)
    np.testing.assert_allclose(history["f1_score"][1], f1, rtol=1e-6)
    np.testing.assert_allclose(history["val_f1_score"][0], f1, rtol=1e-6)
    assert history["fb"][0] == pytest.approx(fb, rel=1e-6)
    with open(csv_path) as f:
        row = next(csv.DictReader(f))
    assert row["f1_score"].startswith('"[') and len(row["f1_score"].split(",")) == 4

    # The all-native path (no Python callback) gives the same History.
    fast = model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0).history
    np.testing.assert_allclose(fast["f1_score"][0], f1, rtol=1e-6)


def test_evaluate_matches_kerass_metric_on_the_predictions():
    ker = _keras()
    x, y = _classification(seed=4)
    model = _model([keras.metrics.F1Score(threshold=0.3, name="f1")])
    logs = model.evaluate(x, y, batch_size=7, verbose=0, return_dict=True)
    theirs = ker.metrics.F1Score(threshold=0.3)
    theirs.update_state(y, model.predict(x, verbose=0))
    np.testing.assert_allclose(logs["f1"], np.asarray(theirs.result()), rtol=1e-6)


def test_parity_with_keras_in_fit():
    ker = _keras()
    x, y = _classification(n=64, seed=5)
    ours = _model(["f1_score", keras.metrics.F1Score(average="micro", name="micro")])
    ours.compile("sgd", "categorical_crossentropy", metrics=ours._metric_ids)
    theirs = ker.Sequential([ker.Input(shape=(5,)), ker.layers.Dense(4, activation="softmax")])
    theirs.compile(
        "sgd", "categorical_crossentropy", metrics=["f1_score", ker.metrics.F1Score("micro")]
    )
    theirs.set_weights(ours.get_weights())
    h1 = ours.fit(x, y, epochs=2, batch_size=16, shuffle=False, verbose=0).history
    h2 = theirs.fit(x, y, epochs=2, batch_size=16, shuffle=False, verbose=0).history
    for epoch in range(2):
        np.testing.assert_allclose(h1["f1_score"][epoch], h2["f1_score"][epoch], rtol=1e-5)
    np.testing.assert_allclose(h1["micro"], h2["f1_score_1"], rtol=1e-5)


def test_names_and_config():
    assert keras.metrics.F1Score().name == "f1_score"
    assert keras.metrics.FBetaScore().name == "fbeta_score"
    assert keras.metrics.get("f_beta_score").name == "f_beta_score"
    assert isinstance(keras.metrics.get("F1Score"), keras.metrics.F1Score)
    f1 = keras.metrics.F1Score(average="weighted", threshold=0.4, name="f")
    assert f1.get_config() == {
        "name": "f",
        "dtype": "float32",
        "average": "weighted",
        "threshold": 0.4,
    }
    fb = keras.metrics.FBetaScore(beta=0.5)
    assert fb.get_config()["beta"] == 0.5
    for metric in (f1, fb):
        clone = type(metric).from_config(metric.get_config())
        assert clone.get_config() == metric.get_config()
        y, p, _ = _data(seed=6)
        metric.update_state(y, p)
        clone.update_state(y, p)
        np.testing.assert_array_equal(clone.result(), metric.result())


def test_bad_arguments_raise_value_errors():
    with pytest.raises(ValueError, match="Invalid `average`"):
        keras.metrics.F1Score(average="samples")
    with pytest.raises(ValueError, match="beta.*Python float"):
        keras.metrics.FBetaScore(beta=2)
    with pytest.raises(ValueError, match="should be > 0"):
        keras.metrics.FBetaScore(beta=0.0)
    with pytest.raises(ValueError, match="threshold.*Python float"):
        keras.metrics.F1Score(threshold=1)
    with pytest.raises(ValueError, match="0 < threshold <= 1"):
        keras.metrics.F1Score(threshold=0.0)


def test_bad_inputs_raise_value_errors():
    with pytest.raises(ValueError, match="expects 2D inputs"):
        keras.metrics.F1Score().update_state([1, 0, 1], [0.2, 0.3, 0.9])
    with pytest.raises(ValueError, match="same shape"):
        keras.metrics.F1Score().update_state([[1, 0, 1]], [[0.2, 0.3]])
    with pytest.raises(ValueError, match="one sample_weight per sample"):
        keras.metrics.F1Score().update_state([[1, 0]], [[0.2, 0.3]], sample_weight=[[1, 2]])
    model = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(3, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["f1_score"])
    with pytest.raises(ValueError, match="F-scores need one-hot"):
        model.evaluate(np.zeros((4, 2)), np.array([0, 1, 2, 1]), verbose=0)
