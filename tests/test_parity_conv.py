"""Convolution and pooling layers against Keras 3 (torch backend) on the same weights:
predictions, training histories, output shapes, parameter counts and config keys.

Skipped when keras or torch is not installed.
"""

import os

import numpy as np
import pytest

os.environ["KERAS_BACKEND"] = "torch"
pytest.importorskip("torch")
keras = pytest.importorskip("keras")

import eigennet  # noqa: E402
from reference import pooling as ref_pool  # noqa: E402

RTOL, ATOL = 1e-4, 1e-5

# (class name, kwargs, sample shape)
CONV_CASES = [
    ("Conv2D", dict(filters=4, kernel_size=3), (7, 8, 2)),
    ("Conv2D", dict(filters=4, kernel_size=3, padding="same", activation="relu"), (7, 8, 2)),
    ("Conv2D", dict(filters=3, kernel_size=(3, 2), strides=2, padding="same"), (7, 6, 3)),
    ("Conv2D", dict(filters=3, kernel_size=4, strides=(2, 3), padding="same"), (9, 10, 2)),
    ("Conv2D", dict(filters=2, kernel_size=3, dilation_rate=2, padding="same"), (8, 7, 2)),
    ("Conv2D", dict(filters=2, kernel_size=(2, 3), dilation_rate=(2, 1)), (8, 7, 2)),
    ("Conv2D", dict(filters=5, kernel_size=1, use_bias=False, activation="tanh"), (4, 4, 3)),
    ("Conv2D", dict(filters=2, kernel_size=3, activation="softmax"), (5, 5, 2)),
    ("Conv1D", dict(filters=3, kernel_size=3), (10, 2)),
    ("Conv1D", dict(filters=3, kernel_size=4, strides=3, padding="same"), (10, 2)),
    ("Conv1D", dict(filters=3, kernel_size=3, padding="causal", dilation_rate=2), (10, 2)),
    ("Conv1D", dict(filters=3, kernel_size=2, strides=2, padding="causal"), (9, 2)),
]
POOL_CASES = [
    ("MaxPooling2D", dict(), (6, 7, 3)),
    ("MaxPooling2D", dict(pool_size=3, strides=2, padding="same"), (6, 7, 3)),
    ("MaxPooling2D", dict(pool_size=(2, 3), strides=1, padding="same"), (5, 5, 2)),
    ("AveragePooling2D", dict(pool_size=2), (6, 7, 3)),
    ("AveragePooling2D", dict(pool_size=3, strides=1, padding="same"), (6, 7, 3)),
    ("AveragePooling2D", dict(pool_size=(3, 1), strides=(2, 1), padding="same"), (7, 6, 2)),
    ("MaxPooling1D", dict(pool_size=3, strides=2, padding="same"), (10, 2)),
    ("AveragePooling1D", dict(pool_size=3, strides=1, padding="same"), (10, 2)),
    ("GlobalMaxPooling2D", dict(), (4, 5, 3)),
    ("GlobalAveragePooling2D", dict(keepdims=True), (4, 5, 3)),
    ("GlobalMaxPooling1D", dict(keepdims=True), (6, 3)),
    ("GlobalAveragePooling1D", dict(), (6, 3)),
]
# Uneven "same" padding, where the installed Keras torch backend may replicate border values.
UNEVEN_AVERAGE = [
    ("AveragePooling2D", dict(pool_size=2, padding="same"), (5, 7, 2)),
    ("AveragePooling2D", dict(pool_size=3, strides=2, padding="same"), (6, 6, 2)),
    ("AveragePooling1D", dict(pool_size=4, strides=1, padding="same"), (9, 2)),
    ("AveragePooling2D", dict(pool_size=(3, 2), strides=(2, 1), padding="same"), (7, 6, 2)),
]


@pytest.fixture(autouse=True)
def _seed_keras():
    keras.utils.set_random_seed(5)


def _pair(name, kwargs, shape):
    k_model = keras.Sequential([keras.Input(shape=shape), getattr(keras.layers, name)(**kwargs)])
    e_model = eigennet.Sequential(
        [eigennet.Input(shape=shape), getattr(eigennet.layers, name)(**kwargs)]
    )
    e_model.set_weights([np.array(w) for w in k_model.get_weights()])
    return k_model, e_model


def _case_id(case):
    name, kwargs, shape = case
    return name + "-" + "-".join(f"{k}={v}" for k, v in kwargs.items())


@pytest.mark.parametrize("case", CONV_CASES + POOL_CASES, ids=_case_id)
def test_predict_shapes_params_and_config_match_keras(case):
    name, kwargs, shape = case
    k_model, e_model = _pair(name, kwargs, shape)
    assert e_model.output_shape == k_model.output_shape
    assert e_model.count_params() == k_model.count_params()
    k_layer, e_layer = k_model.layers[0], e_model.layers[0]
    assert [w.shape for w in e_layer.weights] == [tuple(w.shape) for w in k_layer.weights]
    assert set(e_layer.get_config()) == set(k_layer.get_config())
    x = np.random.default_rng(0).normal(size=(5, *shape)).astype(np.float32)
    np.testing.assert_allclose(
        e_model.predict(x, verbose=0), k_model.predict(x, verbose=0), rtol=RTOL, atol=ATOL
    )


@pytest.mark.parametrize("case", UNEVEN_AVERAGE, ids=_case_id)
def test_uneven_same_average_pooling(case):
    """eigennet averages only in-data values (Keras's rule, and the torch backend's since
    keras-team/keras#23233); Keras 3.15's torch backend replicated the border instead."""
    name, kwargs, shape = case
    k_model, e_model = _pair(name, kwargs, shape)
    x = np.random.default_rng(1).normal(size=(3, *shape)).astype(np.float32)
    pool = kwargs["pool_size"]
    rank = len(shape) - 1
    pool = (pool,) * rank if isinstance(pool, int) else pool
    strides = kwargs.get("strides") or pool
    strides = (strides,) * rank if isinstance(strides, int) else strides
    ours = e_model.predict(x, verbose=0)
    expected = ref_pool.forward("average", x.astype(np.float64), pool, strides, "same")
    np.testing.assert_allclose(ours, expected, rtol=1e-5, atol=1e-6)
    theirs = k_model.predict(x, verbose=0)
    if not np.allclose(ours, theirs, rtol=RTOL, atol=ATOL):
        replicated = ref_pool.keras315_torch_average(x.astype(np.float64), pool, strides, "same")
        np.testing.assert_allclose(theirs, replicated, rtol=RTOL, atol=ATOL)


def _train_both(k_model, e_model, x, y, loss, epochs=3, batch_size=8):
    for lib, model in ((keras, k_model), (eigennet, e_model)):
        model.compile(
            optimizer=lib.optimizers.Adam(learning_rate=0.01), loss=loss, metrics=["accuracy"]
        )
    fit = dict(batch_size=batch_size, epochs=epochs, shuffle=False, verbose=0)
    k_hist, e_hist = k_model.fit(x, y, **fit), e_model.fit(x, y, **fit)
    for key, values in k_hist.history.items():
        np.testing.assert_allclose(e_hist.history[key], values, rtol=RTOL, atol=ATOL, err_msg=key)
    for i, (kw, ew) in enumerate(zip(k_model.get_weights(), e_model.get_weights(), strict=True)):
        np.testing.assert_allclose(ew, np.array(kw), rtol=1e-3, atol=1e-4, err_msg=f"weight {i}")


def _cnn_2d(lib):
    layers = lib.layers
    return lib.Sequential(
        [
            lib.Input(shape=(10, 10, 2)),
            layers.Conv2D(4, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(6, 3, strides=2, padding="same", activation="tanh"),
            layers.AveragePooling2D(3, strides=1, padding="same"),
            layers.GlobalAveragePooling2D(),
            layers.Dense(3, activation="softmax"),
        ]
    )


def _cnn_1d(lib):
    layers = lib.layers
    return lib.Sequential(
        [
            lib.Input(shape=(12, 3)),
            layers.Conv1D(5, 3, padding="causal", dilation_rate=2, activation="relu"),
            layers.MaxPooling1D(2),
            layers.Conv1D(4, 2, activation="sigmoid"),
            layers.Flatten(),
            layers.Dense(3, activation="softmax"),
        ]
    )


@pytest.mark.parametrize("build", [_cnn_2d, _cnn_1d], ids=["2d", "1d"])
def test_training_matches_keras(build):
    k_model, e_model = build(keras), build(eigennet)
    e_model.set_weights([np.array(w) for w in k_model.get_weights()])
    rng = np.random.default_rng(2)
    x = rng.random((40, *k_model.input_shape[1:])).astype(np.float32)
    y = rng.integers(0, 3, size=40)
    _train_both(k_model, e_model, x, y, "sparse_categorical_crossentropy")
    np.testing.assert_allclose(
        e_model.predict(x, verbose=0), k_model.predict(x, verbose=0), rtol=1e-3, atol=1e-4
    )


def _named_cnn(lib):
    layers = lib.layers
    return lib.Sequential(
        [
            lib.Input(shape=(28, 28, 1)),
            layers.Conv2D(32, 3, activation="relu", name="conv_a"),
            layers.MaxPooling2D(name="pool_a"),
            layers.Conv2D(64, 3, strides=2, padding="same", name="conv_b"),
            layers.AveragePooling2D(2, padding="same", name="pool_b"),
            layers.Conv2D(48, 1, name="conv_c"),
            layers.GlobalAveragePooling2D(name="global_average_pooling2d_with_a_long_name"),
            layers.Dense(10, activation="softmax", name="head"),
        ],
        name="cnn",
    )


def _w5(lib):  # the benchmark's CNN (workloads.md W5) at a smaller input
    layers = lib.layers
    return lib.Sequential(
        [
            lib.Input(shape=(14, 14, 1)),
            layers.Conv2D(8, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(16, 3, activation="relu"),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dense(32, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ]
    )


def test_w5_training_matches_keras():
    k_model, e_model = _w5(keras), _w5(eigennet)
    e_model.set_weights([np.array(w) for w in k_model.get_weights()])
    rng = np.random.default_rng(3)
    x = rng.random((48, 14, 14, 1)).astype(np.float32)
    y = rng.integers(0, 10, size=48)
    _train_both(k_model, e_model, x, y, "sparse_categorical_crossentropy", batch_size=16)


def test_summary_matches_keras():
    k_model, e_model = _named_cnn(keras), _named_cnn(eigennet)
    for k_layer, e_layer in zip(k_model.layers, e_model.layers, strict=True):
        assert e_layer.output_shape == k_layer.output.shape
        assert e_layer.count_params() == k_layer.count_params()
    k_lines, e_lines = [], []
    k_model.summary(print_fn=lambda line, **_: k_lines.append(line))
    e_model.summary(print_fn=e_lines.append)
    assert "\n".join(e_lines).strip() == "\n".join(k_lines).strip()
