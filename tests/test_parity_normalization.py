"""BatchNormalization and LayerNormalization trained side by side with Keras 3 (torch backend)
from the same weights: history, every weight (moving statistics included), evaluate, predict.

Skipped when keras or torch is not installed.
"""

import os
import warnings

import numpy as np
import pytest

os.environ["KERAS_BACKEND"] = "torch"
pytest.importorskip("torch")
keras = pytest.importorskip("keras")

import eigennet  # noqa: E402

RTOL, ATOL = 1e-4, 1e-5


@pytest.fixture(autouse=True)
def _seed_keras():
    keras.utils.set_random_seed(5)


def _random_weights(model, seed):
    """Non-trivial values for every weight (variances positive) so each one matters."""
    rng = np.random.RandomState(seed)
    values = []
    for w in model.weights:
        shape = tuple(w.shape)
        name = w.path.split("/")[-1] if hasattr(w, "path") else w.name
        if name == "moving_variance":
            values.append(rng.uniform(0.5, 2.0, size=shape).astype("float32"))
        elif name == "gamma":
            values.append(rng.uniform(0.5, 1.5, size=shape).astype("float32"))
        else:
            values.append((rng.randn(*shape) * 0.5).astype("float32"))
    return values


def _pair(make_layers, input_shape, seed=0):
    k_model = keras.Sequential([keras.Input(shape=input_shape), *make_layers(keras)])
    e_model = eigennet.Sequential([eigennet.Input(shape=input_shape), *make_layers(eigennet)])
    weights = _random_weights(k_model, seed)
    k_model.set_weights(weights)
    e_model.set_weights(weights)
    return k_model, e_model


def _assert_same_weights(k_model, e_model):
    k_weights, e_weights = k_model.get_weights(), e_model.get_weights()
    assert len(k_weights) == len(e_weights)
    for i, (kw, ew) in enumerate(zip(k_weights, e_weights, strict=True)):
        np.testing.assert_allclose(ew, kw, rtol=RTOL, atol=ATOL, err_msg=f"weight {i}")


def _train_both(k_model, e_model, x, y, make_optimizer, loss="mse", epochs=3, batch_size=8):
    k_model.compile(optimizer=make_optimizer(keras), loss=loss)
    e_model.compile(optimizer=make_optimizer(eigennet), loss=loss)
    fit = dict(batch_size=batch_size, epochs=epochs, shuffle=False, verbose=0)
    k_hist = k_model.fit(x, y, **fit)
    e_hist = e_model.fit(x, y, **fit)
    np.testing.assert_allclose(e_hist.history["loss"], k_hist.history["loss"], rtol=RTOL, atol=ATOL)
    _assert_same_weights(k_model, e_model)
    assert e_model.evaluate(x, y, verbose=0) == pytest.approx(
        k_model.evaluate(x, y, verbose=0), rel=RTOL, abs=ATOL
    )
    np.testing.assert_allclose(
        e_model.predict(x, verbose=0), k_model.predict(x, verbose=0), rtol=RTOL, atol=ATOL
    )


OPTIMIZERS = {
    "sgd": lambda lib: lib.optimizers.SGD(learning_rate=0.05, momentum=0.9),
    "adam": lambda lib: lib.optimizers.Adam(learning_rate=0.01),
}


def _data(n, sample_shape, outputs, seed=0):
    rng = np.random.RandomState(seed)
    x = (rng.randn(n, *sample_shape) * 3 + 2).astype("float32")  # far from normalized
    y = rng.randn(n, *sample_shape[:-1], outputs).astype("float32")
    return x, y


# A bias right before a training-mode batch norm has a zero gradient (the batch mean absorbs
# it); Adam would turn its rounding noise into full steps, different in any two libraries.
# So such biases exist only with SGD, where that noise moves nothing (and a nonlinearity
# separates any other shift from a batch norm).
@pytest.mark.parametrize("opt", sorted(OPTIMIZERS))
def test_batch_norm_mlp_parity(opt):
    def layers(lib):
        return [
            lib.layers.Dense(6, activation="relu", use_bias=opt == "sgd"),
            lib.layers.BatchNormalization(momentum=0.9),
            lib.layers.Dense(2),
        ]

    k_model, e_model = _pair(layers, (5,))
    x, y = _data(30, (5,), 2)  # batches of 8, 8, 8 and 6
    _train_both(k_model, e_model, x, y, OPTIMIZERS[opt])


@pytest.mark.parametrize("opt", sorted(OPTIMIZERS))
def test_normalization_on_positions_parity(opt):
    """Rank-3 inputs: batch norm over batch * positions, layer norm per position."""

    def layers(lib):
        return [
            lib.layers.BatchNormalization(),
            lib.layers.Dense(6, activation="tanh"),
            lib.layers.LayerNormalization(),
            lib.layers.Dense(4, activation="tanh"),
            lib.layers.BatchNormalization(center=False, momentum=0.5),
            lib.layers.LayerNormalization(scale=False, epsilon=1e-5),
            lib.layers.Dense(2),
        ]

    k_model, e_model = _pair(layers, (4, 3), seed=1)
    x, y = _data(20, (4, 3), 2, seed=1)
    _train_both(k_model, e_model, x, y, OPTIMIZERS[opt])


def test_frozen_batch_norm_parity():
    def layers(lib):
        return [
            lib.layers.Dense(6),
            lib.layers.BatchNormalization(trainable=False),
            lib.layers.Dense(1, activation="sigmoid"),
        ]

    k_model, e_model = _pair(layers, (5,), seed=2)
    x, _ = _data(24, (5,), 1, seed=2)
    y = (x[:, :1] > 2).astype("float32")
    _train_both(k_model, e_model, x, y, OPTIMIZERS["sgd"], loss="binary_crossentropy")


def test_rms_scaling_parity():
    def layers(lib):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            norm = lib.layers.LayerNormalization(rms_scaling=True)
        return [lib.layers.Dense(5), norm, lib.layers.Dense(2)]

    k_model, e_model = _pair(layers, (3,), seed=3)
    x, y = _data(16, (3,), 2, seed=3)
    _train_both(k_model, e_model, x, y, OPTIMIZERS["adam"])


def test_training_call_parity():
    """model(x, training=True) normalizes with the batch and moves the statistics in both."""

    def layers(lib):
        return [lib.layers.BatchNormalization(momentum=0.7)]

    k_model, e_model = _pair(layers, (2, 3), seed=4)
    x, _ = _data(10, (2, 3), 1, seed=4)
    for _ in range(3):
        k_out = k_model(x, training=True)
        e_out = e_model(x, training=True)
        np.testing.assert_allclose(e_out, np.asarray(k_out.detach()), rtol=RTOL, atol=ATOL)
    _assert_same_weights(k_model, e_model)
    np.testing.assert_allclose(e_model(x), np.asarray(k_model(x).detach()), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("name", ["BatchNormalization", "LayerNormalization"])
def test_config_keys_and_weights_match_keras(name):
    k_layer = getattr(keras.layers, name)()
    e_layer = getattr(eigennet.layers, name)()
    k_layer.build((None, 2, 7))
    e_layer.build((None, 2, 7))
    assert set(e_layer.get_config()) == set(k_layer.get_config())
    for key in ("epsilon", "center", "scale", "momentum"):
        if key in k_layer.get_config():
            assert e_layer.get_config()[key] == k_layer.get_config()[key], key
    for key in ("beta_initializer", "gamma_initializer"):
        assert e_layer.get_config()[key]["class_name"] == k_layer.get_config()[key]["class_name"]
    assert [w.path.split("/")[-1] for w in k_layer.weights] == [w.name for w in e_layer.weights]
    assert [w.path.split("/")[-1] for w in k_layer.non_trainable_weights] == [
        w.name for w in e_layer.non_trainable_weights
    ]
    assert e_layer.count_params() == k_layer.count_params()


def test_summary_param_counts_match_keras():
    def layers(lib):
        return [
            lib.layers.Dense(8),
            lib.layers.BatchNormalization(),
            lib.layers.LayerNormalization(center=False),
            lib.layers.Dense(1),
        ]

    k_model, e_model = _pair(layers, (4,))
    k_lines, e_lines = [], []
    k_model.summary(print_fn=lambda line, *a, **k: k_lines.append(line))
    e_model.summary(print_fn=e_lines.append)

    def counts(lines):
        text = "\n".join(lines)
        return [
            line.split(":")[1].split("(")[0].strip()
            for line in text.splitlines()
            if "params:" in line
        ]

    assert counts(e_lines) == counts(k_lines)
