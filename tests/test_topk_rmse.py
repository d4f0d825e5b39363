"""Top-k accuracies and RootMeanSquaredError: Keras's values (recorded from keras 3.15, ties
included) and native accumulation in evaluate."""

import numpy as np
import pytest

import eigennet as keras


def _data():
    rs = np.random.RandomState(0)
    scores = rs.rand(50, 6).astype("float32")
    scores[:5, :] = 0.5  # ties: Keras counts a tied target as in the top k
    labels = rs.randint(0, 6, 50)
    return scores, labels, np.eye(6)[labels]


@pytest.mark.parametrize(("k", "expected"), [(1, 0.24), (2, 0.42), (3, 0.58)])
def test_top_k_values_match_keras(k, expected):
    scores, labels, onehot = _data()
    sparse = keras.metrics.SparseTopKCategoricalAccuracy(k=k)
    sparse.update_state(labels, scores)
    dense = keras.metrics.TopKCategoricalAccuracy(k=k)
    dense.update_state(onehot, scores)
    assert sparse.result() == pytest.approx(expected) and dense.result() == pytest.approx(expected)


def test_rmse_matches_keras():
    scores, _, onehot = _data()
    rmse = keras.metrics.RootMeanSquaredError()
    rmse.update_state(onehot, scores)
    assert rmse.result() == pytest.approx(0.5738881230354309, rel=1e-6)


def test_native_values_equal_the_standalone_metrics():
    rs = np.random.RandomState(1)
    x, y = rs.randn(40, 4), rs.randint(0, 6, 40)
    model = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(6, activation="softmax")])
    model.compile(
        "adam",
        "sparse_categorical_crossentropy",
        metrics=[
            "sparse_top_k_categorical_accuracy",
            keras.metrics.SparseTopKCategoricalAccuracy(k=2, name="top2"),
        ],
    )
    logs = model.evaluate(x, y, batch_size=16, verbose=0, return_dict=True)
    pred = model.predict(x, verbose=0)
    for k, key in ((5, "sparse_top_k_categorical_accuracy"), (2, "top2")):
        metric = keras.metrics.SparseTopKCategoricalAccuracy(k=k)
        metric.update_state(y, pred)
        assert logs[key] == pytest.approx(metric.result())
    reg = keras.Sequential([keras.Input(shape=(4,)), keras.layers.Dense(2)])
    reg.compile("sgd", "mse", metrics=["root_mean_squared_error"])
    target = rs.randn(40, 2)
    logs = reg.evaluate(x, target, batch_size=16, verbose=0, return_dict=True)
    assert logs["root_mean_squared_error"] == pytest.approx(np.sqrt(logs["loss"]), rel=1e-5)
