"""AUC: Keras's values (docstring and recorded from keras 3.15), the NumPy reference
(tests/reference/metrics.py), scikit-learn (loosely: it integrates exactly, Keras on
thresholds), Keras 3 itself, native accumulation in fit/evaluate, config and bad input."""

import numpy as np
import pytest

import eigennet as keras
from reference import metrics as ref

CURVES = ["ROC", "PR", "PRGAIN"]
SUMMATIONS = ["interpolation", "minoring", "majoring"]


def _keras():
    ker = pytest.importorskip("keras")
    pytest.importorskip("torch")
    return ker


def _data(n=300, cols=1, seed=0):
    rs = np.random.RandomState(seed)
    y = rs.randint(0, 2, (n, cols)).astype("float32")
    p = np.clip(0.35 * y + 0.65 * rs.rand(n, cols), 0, 1).astype("float32")
    return y, p, rs.rand(n).astype("float32")


def _boundary_predictions(n_thresholds=200):
    """Predictions exactly on the float32 thresholds i/(n-1), where Keras's bucketing
    (ceil(p * (n - 1)) - 1) and a plain p > threshold disagree for some i, plus the ends."""
    on = np.array([i / (n_thresholds - 1) for i in range(n_thresholds)], dtype=np.float32)
    below = np.nextafter(on, np.float32(-1))
    above = np.nextafter(on, np.float32(2))
    extra = np.array([0.0, 1.0, -0.5, 1.5, 1e-8, 1 - 1e-8], dtype=np.float32)
    p = np.concatenate([on, below, above, extra])
    y = (np.arange(len(p)) % 3 == 0).astype("float32")
    return y, p


def test_keras_docstring_values():
    m = keras.metrics.AUC(num_thresholds=3)
    m.update_state([0, 0, 1, 1], [0, 0.5, 0.3, 0.9])
    assert m.result() == pytest.approx(0.75)
    m.reset_state()
    m.update_state([0, 0, 1, 1], [0, 0.5, 0.3, 0.9], sample_weight=[1, 0, 0, 1])
    assert m.result() == pytest.approx(1.0)
    assert m.thresholds == pytest.approx([-1e-7, 0.5, 1 + 1e-7])


def test_empty_and_one_class_results_are_zero_as_keras():
    assert keras.metrics.AUC().result() == 0.0
    m = keras.metrics.AUC()
    m.update_state([1, 1, 1], [0.2, 0.5, 0.7])  # no negatives: the FP rate stays 0
    assert m.result() == 0.0
    pr = keras.metrics.AUC(curve="PR")
    pr.update_state([0, 0, 0], [0.2, 0.5, 0.7])
    assert pr.result() == 0.0


def test_labels_are_cast_to_bool_as_keras():
    # Keras 3 does not check label values: any nonzero label is a positive.
    ones, twos = keras.metrics.AUC(), keras.metrics.AUC()
    ones.update_state([0, 1, 0, 1], [0.3, 0.4, 0.5, 0.9])
    twos.update_state([0, 2, 0, -1], [0.3, 0.4, 0.5, 0.9])
    assert ones.result() == twos.result() == pytest.approx(0.75)


@pytest.mark.parametrize("curve", CURVES)
@pytest.mark.parametrize("summation", SUMMATIONS)
def test_matches_reference_over_batches(curve, summation):
    y, p, w = _data(cols=2)
    m = keras.metrics.AUC(curve=curve, summation_method=summation)
    for s in (slice(0, 100), slice(100, 250), slice(250, 300)):
        m.update_state(y[s], p[s], sample_weight=w[s])
    expected = ref.auc(y, p, w, curve=curve, summation_method=summation)
    assert m.result() == pytest.approx(expected, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("curve", ["ROC", "PR"])
def test_predictions_on_the_thresholds_follow_kerass_bucketing(curve):
    y, p = _boundary_predictions()
    m = keras.metrics.AUC(curve=curve)
    m.update_state(y, p)
    assert m.result() == pytest.approx(ref.auc(y, p, curve=curve), rel=1e-12)
    # The plain comparison gives another value here: the test tells the two rules apart.
    t, _ = ref.auc_thresholds()
    plain = ref.area(*ref.confusion(y, p, t, evenly=False), curve=curve)
    assert plain != pytest.approx(m.result(), rel=1e-9)


@pytest.mark.parametrize(
    "thresholds", [[0.25, 0.5, 0.75], [0.1, 0.35, 0.5, 0.9], [0.5], [0.9, 0.2, 0.2]]
)
def test_explicit_thresholds_match_reference(thresholds):
    y, p, w = _data(seed=3)
    p[:8, 0] = [0.25, 0.5, 0.75, 0.1, 0.35, 0.9, 0.2, 0.0]  # on the thresholds
    for curve in ("ROC", "PR"):
        m = keras.metrics.AUC(thresholds=thresholds, curve=curve)
        m.update_state(y, p, sample_weight=w)
        expected = ref.auc(y, p, w, curve=curve, thresholds=thresholds)
        assert m.result() == pytest.approx(expected, rel=1e-9)
    assert m.num_thresholds == len(thresholds) + 2


def test_num_thresholds_from_logits_multi_label_and_label_weights():
    y, p, w = _data(cols=3, seed=4)
    logits = np.log(p + 1e-3) - np.log1p(1e-3 - p)
    cases = [
        ({"num_thresholds": 7}, p),
        ({"num_thresholds": 2}, p),
        ({"from_logits": True}, logits),
        ({"multi_label": True, "curve": "PR"}, p),
        ({"multi_label": True, "label_weights": [1.0, 0.0, 3.0]}, p),
        ({"label_weights": [0.5, 2.0, 1.0]}, p),
    ]
    for kwargs, pred in cases:
        m = keras.metrics.AUC(**kwargs)
        m.update_state(y[:150], pred[:150], sample_weight=w[:150])
        m.update_state(y[150:], pred[150:], sample_weight=w[150:])
        expected = ref.auc(y, pred, w, **kwargs)
        assert m.result() == pytest.approx(expected, rel=1e-6), kwargs


def test_close_to_scikit_learn():
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    rs = np.random.RandomState(5)
    y = rs.randint(0, 2, 2000)
    p = np.clip(0.3 * y + 0.7 * rs.rand(2000), 0, 1)
    roc = keras.metrics.AUC(num_thresholds=2000)
    roc.update_state(y, p)
    assert roc.result() == pytest.approx(sklearn_metrics.roc_auc_score(y, p), abs=2e-3)
    pr = keras.metrics.AUC(num_thresholds=2000, curve="PR")
    pr.update_state(y, p)
    assert pr.result() == pytest.approx(sklearn_metrics.average_precision_score(y, p), abs=2e-2)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"curve": "PR"},
        {"curve": "PRGAIN", "summation_method": "majoring"},
        {"curve": "PR", "summation_method": "minoring", "num_thresholds": 13},
        {"thresholds": [0.1, 0.35, 0.5, 0.9]},
        {"thresholds": [0.25, 0.5, 0.75], "curve": "PR"},
        {"from_logits": True},
        {"multi_label": True},
        {"multi_label": True, "curve": "PR", "label_weights": [0.2, 1.0, 2.0]},
        {"label_weights": [0.5, 2.0, 1.0]},
    ],
)
def test_parity_with_keras_over_weighted_batches(kwargs):
    ker = _keras()
    y, p, w = _data(cols=3, seed=6)
    if kwargs.get("from_logits"):
        p = (p - 0.5) * 8
    ours, theirs = keras.metrics.AUC(**kwargs), ker.metrics.AUC(**kwargs)
    for s in (slice(0, 64), slice(64, 200), slice(200, 300)):
        ours.update_state(y[s], p[s], sample_weight=w[s])
        theirs.update_state(y[s], p[s], sample_weight=w[s])
    assert ours.result() == pytest.approx(float(theirs.result()), rel=2e-5, abs=1e-7)


def test_parity_with_keras_on_the_thresholds():
    ker = _keras()
    y, p = _boundary_predictions()
    for curve in ("ROC", "PR"):
        ours, theirs = keras.metrics.AUC(curve=curve), ker.metrics.AUC(curve=curve)
        ours.update_state(y, p)
        theirs.update_state(y, p)
        assert ours.result() == pytest.approx(float(theirs.result()), rel=1e-6)


def _model(metrics, seed=0):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(keras.optimizers.SGD(learning_rate=0.0), "binary_crossentropy", metrics=metrics)
    return model


def test_evaluate_and_fit_equal_the_metric_over_all_predictions():
    rs = np.random.RandomState(7)
    x, y = rs.randn(203, 4), rs.randint(0, 2, 203).astype("float32")
    w = rs.rand(203).astype("float32")  # the model's dtype, as fit converts them
    model = _model(["auc", keras.metrics.AUC(curve="PR", name="pr_auc")])
    logs = model.evaluate(x, y, sample_weight=w, batch_size=16, verbose=0, return_dict=True)
    pred = model.predict(x, verbose=0)
    roc = ref.auc(y, pred[:, 0], w)
    pr = ref.auc(y, pred[:, 0], w, curve="PR")
    assert logs["auc"] == pytest.approx(roc, rel=1e-9)
    assert logs["pr_auc"] == pytest.approx(pr, rel=1e-9)
    # learning rate 0: the model does not change, so every epoch sees the same predictions.
    history = model.fit(
        x,
        y,
        sample_weight=w,
        batch_size=10,
        epochs=2,
        shuffle=False,
        verbose=0,
        validation_data=(x, y),
    ).history
    assert sorted(history) == ["auc", "loss", "pr_auc", "val_auc", "val_loss", "val_pr_auc"]
    np.testing.assert_allclose(history["auc"], [roc, roc], rtol=1e-9)
    np.testing.assert_allclose(history["pr_auc"], [pr, pr], rtol=1e-9)
    np.testing.assert_allclose(history["val_auc"], ref.auc(y, pred[:, 0]), rtol=1e-9)


def test_evaluate_matches_kerass_metric_on_the_predictions():
    ker = _keras()
    rs = np.random.RandomState(8)
    x, y = rs.randn(150, 4).astype("float32"), rs.randint(0, 2, 150).astype("float32")
    model = _model([keras.metrics.AUC(name="a"), keras.metrics.AUC(curve="PR", name="b")])
    logs = model.evaluate(x, y, batch_size=32, verbose=0, return_dict=True)
    pred = model.predict(x, verbose=0)
    for key, kwargs in (("a", {}), ("b", {"curve": "PR"})):
        theirs = ker.metrics.AUC(**kwargs)
        theirs.update_state(y, pred)
        assert logs[key] == pytest.approx(float(theirs.result()), rel=1e-5)


def test_parity_with_keras_in_fit():
    ker = _keras()
    rs = np.random.RandomState(9)
    x, y = rs.randn(96, 4).astype("float32"), rs.randint(0, 2, 96).astype("float32")
    ours = _model([keras.metrics.AUC(name="auc"), keras.metrics.AUC(curve="PR", name="pr")])
    ours.compile("sgd", "binary_crossentropy", metrics=ours._metric_ids)
    theirs = ker.Sequential([ker.Input(shape=(4,)), ker.layers.Dense(1, activation="sigmoid")])
    theirs.compile(
        "sgd",
        "binary_crossentropy",
        metrics=[ker.metrics.AUC(name="auc"), ker.metrics.AUC(curve="PR", name="pr")],
    )
    theirs.set_weights(ours.get_weights())
    h1 = ours.fit(x, y, epochs=3, batch_size=16, shuffle=False, verbose=0).history
    h2 = theirs.fit(x, y, epochs=3, batch_size=16, shuffle=False, verbose=0).history
    assert sorted(h1) == sorted(h2)
    for key in ("loss", "auc", "pr"):
        np.testing.assert_allclose(h1[key], h2[key], rtol=1e-4, err_msg=key)


def test_names_follow_keras():
    a, b = keras.metrics.AUC(), keras.metrics.AUC()
    assert a.name.startswith("auc") and b.name.startswith("auc_") and a.name != b.name
    assert keras.metrics.AUC(name="x").name == "x"
    assert keras.metrics.get("auc").name == "auc"
    assert isinstance(keras.metrics.get("AUC"), keras.metrics.AUC)


def test_config_round_trip():
    m = keras.metrics.AUC(
        num_thresholds=50, curve="PR", summation_method="majoring", name="x", from_logits=True
    )
    config = m.get_config()
    assert config == {
        "name": "x",
        "dtype": "float32",
        "num_thresholds": 50,
        "curve": "PR",
        "summation_method": "majoring",
        "multi_label": False,
        "num_labels": None,
        "label_weights": None,
        "from_logits": True,
    }
    clone = keras.metrics.AUC.from_config(config)
    assert clone.get_config() == config
    explicit = keras.metrics.AUC(thresholds=[0.7, 0.2], multi_label=True, label_weights=[1, 2])
    config = explicit.get_config()
    assert config["thresholds"] == [0.2, 0.7] and config["num_thresholds"] == 4
    clone = keras.metrics.deserialize(keras.metrics.serialize(explicit))
    y, p, _ = _data(cols=2)
    for metric in (explicit, clone):
        metric.update_state(y, p)
    assert clone.result() == explicit.result()


def test_bad_arguments_raise_value_errors():
    with pytest.raises(ValueError, match="num_thresholds` must be an integer > 1"):
        keras.metrics.AUC(num_thresholds=1)
    with pytest.raises(ValueError, match="Invalid AUC curve"):
        keras.metrics.AUC(curve="roc_curve")
    with pytest.raises(ValueError, match="Invalid AUC summation_method"):
        keras.metrics.AUC(summation_method="trapezoid")
    with pytest.raises(ValueError, match=r"must be in \[0, 1\]"):
        keras.metrics.AUC(thresholds=[0.5, 2.0])
    with pytest.raises(ValueError, match="num_labels` is needed only when `multi_label"):
        keras.metrics.AUC(num_labels=3)
    with pytest.raises(ValueError, match="non-negative"):
        keras.metrics.AUC(label_weights=[1, -1])


def test_bad_inputs_raise_value_errors():
    with pytest.raises(ValueError, match="rank 2 when `multi_label=True`"):
        keras.metrics.AUC(multi_label=True).update_state([0, 1], [0.2, 0.8])
    with pytest.raises(ValueError, match="same shape"):
        keras.metrics.AUC().update_state([[0, 1, 0]], [[0.2, 0.8]])
    with pytest.raises(ValueError, match="num_labels=2"):
        keras.metrics.AUC(multi_label=True, num_labels=2).update_state(
            [[0, 1, 1]], [[0.1, 0.2, 0.3]]
        )
    with pytest.raises(ValueError, match="label_weights has 2 values"):
        keras.metrics.AUC(label_weights=[1, 2]).update_state([[0, 1, 1]], [[0.1, 0.2, 0.3]])
    # Sparse class indices against 3 probabilities: refused (Keras would fail in a reshape).
    model = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(3, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["auc"])
    with pytest.raises(ValueError, match="AUC needs targets shaped like the predictions"):
        model.evaluate(np.zeros((4, 2)), np.array([0, 1, 2, 1]), verbose=0)


def test_absurd_threshold_counts_are_refused_before_allocating():
    with pytest.raises(ValueError, match="at most"):
        keras.metrics.AUC(num_thresholds=2**63)  # a crafted config: would take all memory
