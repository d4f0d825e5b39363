"""How compiled metrics appear in logs: Keras 3's keys (repeated names get _1), metrics with
several values as float32 arrays everywhere (fit, evaluate, train/test_on_batch, the
progress bar shows their mean), and metrics given as names, classes or configs."""

import numpy as np
import pytest

import eigennet as keras


def _model(metrics):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(3, activation="softmax")])
    model.compile("sgd", "categorical_crossentropy", metrics=metrics)
    return model


def _data(n=30):
    rs = np.random.RandomState(0)
    return rs.randn(n, 3).astype("float32"), np.eye(3, dtype="float32")[rs.randint(0, 3, n)]


def test_repeated_names_get_suffixes_as_keras():
    x, y = _data()
    model = _model(["mae", "mae", keras.metrics.F1Score(), "f1_score"])
    history = model.fit(x, y, epochs=1, verbose=0).history
    assert sorted(history) == ["f1_score", "f1_score_1", "loss", "mae", "mae_1"]
    assert model.metrics_names == ["loss", "mae", "mae_1", "f1_score", "f1_score_1"]


def test_vector_metrics_in_every_log():
    x, y = _data()
    model = _model([keras.metrics.F1Score(name="f1"), "auc"])
    for result in (
        model.train_on_batch(x, y, return_dict=True),
        model.test_on_batch(x, y, return_dict=True),
        model.evaluate(x, y, verbose=0, return_dict=True),
    ):
        assert isinstance(result["f1"], np.ndarray) and result["f1"].shape == (3,)
        assert isinstance(result["auc"], float) and isinstance(result["loss"], float)
    loss, f1, auc = model.evaluate(x, y, verbose=0)
    assert f1.dtype == np.float32 and isinstance(auc, float)


def test_batch_logs_carry_arrays():
    x, y = _data()
    model = _model([keras.metrics.F1Score(average=None, name="f1")])
    seen = []
    callback = keras.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: seen.append(logs))
    model.fit(x, y, batch_size=10, epochs=1, verbose=0, callbacks=[callback])
    assert len(seen) == 3 and all(logs["f1"].shape == (3,) for logs in seen)


def test_progress_bar_shows_the_mean(capsys):
    x, y = _data()
    model = _model([keras.metrics.F1Score(name="f1")])
    history = model.fit(x, y, epochs=1, verbose=2).history
    out = capsys.readouterr().out
    assert f"f1: {np.mean(history['f1'][0]):.4f}" in out


def test_metrics_given_by_class_and_config():
    x, y = _data()
    config = keras.metrics.serialize(keras.metrics.FBetaScore(average="macro", beta=2.0))
    assert config == {
        "class_name": "FBetaScore",
        "config": {
            "name": "fbeta_score",
            "dtype": "float32",
            "average": "macro",
            "beta": 2.0,
            "threshold": None,
        },
    }
    metric = keras.metrics.get(config)
    assert isinstance(metric, keras.metrics.FBetaScore) and metric.beta == 2.0
    model = _model([keras.metrics.R2Score, config])
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    assert sorted(logs) == ["fbeta_score", "loss", "r2_score"]
    with pytest.raises(ValueError, match="Unknown metric class 'Nope'"):
        keras.metrics.get({"class_name": "Nope", "config": {}})
    with pytest.raises(ValueError, match="Unknown metric 'f2_score'"):
        _model(["f2_score"])


class CategoricalTruePositives(keras.metrics.Metric):
    """Keras's training guide's metric: its (batch, 1) values times a (batch,) weight would
    not broadcast here (Keras broadcasts it to (batch, batch))."""

    def __init__(self, name="categorical_true_positives", **kwargs):
        super().__init__(name=name, **kwargs)
        self.true_positives = self.add_variable(shape=(), name="ctp", initializer="zeros")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = keras.ops.reshape(keras.ops.argmax(y_pred, axis=1), (-1, 1))
        values = keras.ops.cast(y_true, "int32") == keras.ops.cast(y_pred, "int32")
        values = keras.ops.cast(values, "float32")
        if sample_weight is not None:
            sample_weight = keras.ops.cast(sample_weight, "float32")
            values = keras.ops.multiply(values, sample_weight)
        self.true_positives.assign_add(keras.ops.sum(values))

    def result(self):
        return self.true_positives

    def reset_state(self):
        self.true_positives.assign(0.0)


def test_a_metric_that_breaks_on_weights_runs_without_them_as_keras_passes_none():
    rng = np.random.default_rng(4)
    x = rng.random((40, 5)).astype("float32")
    y = rng.integers(0, 3, (40, 1))
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(3, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=[CategoricalTruePositives()])
    history = model.fit(x, y, batch_size=40, epochs=1, verbose=0)
    logs = model.evaluate(x, y, batch_size=40, verbose=0, return_dict=True)
    hits = np.sum(model.predict(x, verbose=0).argmax(1) == y[:, 0])
    assert logs["categorical_true_positives"] == hits
    assert "categorical_true_positives" in history.history
    with pytest.raises(ValueError, match="categorical_true_positives.*sample weights"):
        model.fit(x, y, sample_weight=np.ones(40), verbose=0)
    with pytest.raises(ValueError, match="sample weights"):
        model.evaluate(x, y, sample_weight=np.ones(40), verbose=0)
