"""R2Score: Keras's values (docstring and recorded from keras 3.15), the NumPy reference,
scikit-learn, Keras 3 itself, native accumulation in fit/evaluate, config and bad input."""

import numpy as np
import pytest

import eigennet as keras
from reference import metrics as ref

AGGREGATIONS = ["uniform_average", "variance_weighted_average", None]


def _keras():
    ker = pytest.importorskip("keras")
    pytest.importorskip("torch")
    return ker


def _data(n=80, outputs=3, seed=0):
    rs = np.random.RandomState(seed)
    y = (rs.randn(n, outputs) * [1.0, 3.0, 0.5][:outputs] + 2).astype("float32")
    p = (y + 0.7 * rs.randn(n, outputs)).astype("float32")
    return y, p, rs.rand(n).astype("float32")


def test_keras_docstring_value():
    m = keras.metrics.R2Score()
    m.update_state(np.array([[1], [4], [3]], "float32"), np.array([[2], [4], [4]], "float32"))
    assert m.result() == pytest.approx(0.57142854, rel=1e-6)


def test_edge_cases_as_keras():
    constant = keras.metrics.R2Score()
    constant.update_state(np.ones((3, 1)), np.zeros((3, 1)))
    assert constant.result() == 0.0  # -inf becomes 0
    perfect = keras.metrics.R2Score()
    perfect.update_state(np.ones((3, 1)), np.ones((3, 1)))
    assert np.isnan(perfect.result())  # 0 / 0
    weightless = keras.metrics.R2Score()
    weightless.update_state(np.ones((3, 1)), np.zeros((3, 1)), sample_weight=np.zeros(3))
    assert np.isnan(weightless.result())
    adjusted = keras.metrics.R2Score(num_regressors=5)
    adjusted.update_state(np.arange(3.0).reshape(3, 1), np.zeros((3, 1)))
    with pytest.warns(UserWarning, match="More independent predictors than datapoints"):
        assert adjusted.result() == pytest.approx(-1.5)  # plain R2, as Keras
    exact = keras.metrics.R2Score(num_regressors=2)
    exact.update_state(np.arange(3.0).reshape(3, 1), np.zeros((3, 1)))
    with pytest.warns(UserWarning, match="Division by zero in Adjusted R2"):
        assert exact.result() == pytest.approx(-1.5)


@pytest.mark.parametrize("aggregation", AGGREGATIONS)
@pytest.mark.parametrize("num_regressors", [0, 4])
def test_matches_reference_over_batches(aggregation, num_regressors):
    y, p, w = _data()
    m = keras.metrics.R2Score(aggregation, num_regressors, dtype="float64")
    m.update_state(y[:30], p[:30], sample_weight=w[:30])
    m.update_state(y[30:], p[30:], sample_weight=w[30:])
    expected = ref.r2(y, p, w, aggregation, num_regressors)
    np.testing.assert_allclose(m.result(), expected, rtol=1e-9)
    assert np.shape(m.result()) == (() if aggregation else (3,))


def test_one_dimensional_targets_are_aligned():
    m = keras.metrics.R2Score()
    m.update_state([1.0, 4.0, 3.0], [[2.0], [4.0], [4.0]])
    assert m.result() == pytest.approx(0.5714285714, rel=1e-6)


def test_matches_scikit_learn():
    sk = pytest.importorskip("sklearn.metrics")
    y, p, w = _data(n=200, seed=1)
    for ours, theirs in (
        ("uniform_average", "uniform_average"),
        ("variance_weighted_average", "variance_weighted"),
        (None, "raw_values"),
    ):
        m = keras.metrics.R2Score(ours)
        m.update_state(y, p, sample_weight=w)
        expected = sk.r2_score(y, p, sample_weight=w, multioutput=theirs)
        np.testing.assert_allclose(m.result(), expected, rtol=1e-5)


@pytest.mark.parametrize("aggregation", AGGREGATIONS)
def test_parity_with_keras_over_weighted_batches(aggregation):
    ker = _keras()
    y, p, w = _data(seed=2)
    ours = keras.metrics.R2Score(aggregation, num_regressors=3)
    theirs = ker.metrics.R2Score(aggregation, num_regressors=3)
    for s in (slice(0, 25), slice(25, 80)):
        ours.update_state(y[s], p[s], sample_weight=w[s])
        theirs.update_state(y[s], p[s], sample_weight=w[s])
    # Keras sums in float32 (SS_tot = sum(y^2) - sum(y) * mean loses digits), the core in
    # float64.
    np.testing.assert_allclose(ours.result(), np.asarray(theirs.result()), rtol=1e-4)


def _model(metrics):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(2)])
    model.compile(keras.optimizers.SGD(learning_rate=0.0), "mse", metrics=metrics)
    return model


def _regression(n=70, seed=3):
    rs = np.random.RandomState(seed)
    x = rs.randn(n, 4).astype("float32")
    return x, (x[:, :2] * [1.0, -2.0] + rs.randn(n, 2)).astype("float32")


def test_evaluate_and_fit_equal_the_metric_over_all_predictions():
    x, y = _regression()
    model = _model(["r2_score", keras.metrics.R2Score(class_aggregation=None, name="per_out")])
    pred = model.predict(x, verbose=0)
    logs = model.evaluate(x, y, batch_size=9, verbose=0, return_dict=True)
    assert logs["r2_score"] == pytest.approx(ref.r2(y, pred), rel=1e-6)
    np.testing.assert_allclose(logs["per_out"], ref.r2(y, pred, class_aggregation=None), rtol=1e-6)
    history = model.fit(
        x, y, batch_size=9, epochs=2, shuffle=False, verbose=0, validation_split=0.2
    ).history
    assert sorted(history) == [
        "loss",
        "per_out",
        "r2_score",
        "val_loss",
        "val_per_out",
        "val_r2_score",
    ]
    train = slice(0, 56)
    np.testing.assert_allclose(
        history["per_out"][1], ref.r2(y[train], pred[train], class_aggregation=None), rtol=1e-6
    )
    assert history["val_r2_score"][0] == pytest.approx(ref.r2(y[56:], pred[56:]), rel=1e-6)


def test_evaluate_matches_kerass_metric_on_the_predictions():
    ker = _keras()
    x, y = _regression(seed=4)
    model = _model([keras.metrics.R2Score(class_aggregation="variance_weighted_average")])
    value = model.evaluate(x, y, batch_size=16, verbose=0)[1]
    theirs = ker.metrics.R2Score(class_aggregation="variance_weighted_average")
    theirs.update_state(y, model.predict(x, verbose=0))
    assert value == pytest.approx(float(theirs.result()), rel=1e-4)


def test_names_and_config():
    m = keras.metrics.R2Score(class_aggregation=None, num_regressors=2, name="r")
    assert keras.metrics.R2Score().name == "r2_score"
    assert keras.metrics.get("r2_score").name == "r2_score"
    config = m.get_config()
    assert config == {
        "name": "r",
        "dtype": "float32",
        "class_aggregation": None,
        "num_regressors": 2,
    }
    assert keras.metrics.R2Score.from_config(config).get_config() == config


def test_bad_arguments_and_inputs_raise_value_errors():
    with pytest.raises(ValueError, match="variance_weighted_average"):
        keras.metrics.R2Score(class_aggregation="variance_weighted")
    with pytest.raises(ValueError, match="num_regressors"):
        keras.metrics.R2Score(num_regressors=-1)
    with pytest.raises(ValueError, match="dtype"):
        keras.metrics.R2Score(dtype="int32")
    with pytest.raises(ValueError, match="expects 2D inputs"):
        keras.metrics.R2Score().update_state([1.0, 2.0], [1.0, 2.5])
    with pytest.raises(ValueError, match="sample_weight holds 2 weights"):
        keras.metrics.R2Score().update_state([[1.0], [2.0], [3.0]], [[1.0], [2.0], [3.0]], [1, 2])
