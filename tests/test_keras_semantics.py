"""Keras 3 behaviours that eigennet must reproduce.

Every expected value here was observed on real Keras 3.15.1 (torch backend) and is
hard-coded, so this module needs no Keras at test time.
"""

import re

import numpy as np
import pytest

import eigennet as keras


def _data(n=10, features=4, outputs=1, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features)).astype("float32")
    y = rng.normal(size=(n, outputs)).astype("float32")
    return x, y


def _mlp(features=4, hidden=3, outputs=1, activation=None):
    return keras.Sequential(
        [
            keras.Input(shape=(features,)),
            keras.layers.Dense(hidden, activation="relu"),
            keras.layers.Dense(outputs, activation=activation),
        ]
    )


def _single(units, activation=None, features=4, seed=0):
    """One Dense layer with fixed, seeded weights (independent of the library's RNG)."""
    rng = np.random.default_rng(seed)
    model = keras.Sequential(
        [keras.Input(shape=(features,)), keras.layers.Dense(units, activation=activation)]
    )
    model.set_weights(
        [
            rng.normal(size=(features, units)).astype("float32"),
            rng.normal(size=(units,)).astype("float32"),
        ]
    )
    return model


# ----------------------------------------------------------------------------- defaults


def test_dense_defaults():
    layer = keras.layers.Dense(3)
    assert layer.units == 3
    assert layer.use_bias is True
    assert isinstance(layer.kernel_initializer, keras.initializers.GlorotUniform)
    assert isinstance(layer.bias_initializer, keras.initializers.Zeros)
    z = np.array([[-2.0, 0.5, 3.0]], dtype="float32")
    np.testing.assert_array_equal(np.asarray(layer.activation(z)), z)  # linear


def test_dense_default_initialization_statistics():
    model = keras.Sequential([keras.Input(shape=(300,)), keras.layers.Dense(200)])
    kernel, bias = model.get_weights()
    limit = np.sqrt(6.0 / (300 + 200))
    assert np.all(np.abs(kernel) <= limit)
    assert kernel.std() == pytest.approx(limit / np.sqrt(3.0), rel=0.05)
    assert abs(kernel.mean()) < 0.01
    np.testing.assert_array_equal(bias, np.zeros(200, dtype="float32"))


OPTIMIZER_DEFAULTS = {
    "SGD": dict(learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=None),
    "Adagrad": dict(
        learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7, weight_decay=None
    ),
    "RMSprop": dict(
        learning_rate=0.001,
        rho=0.9,
        momentum=0.0,
        epsilon=1e-7,
        centered=False,
        weight_decay=None,
    ),
    "Adam": dict(
        learning_rate=0.001,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-7,
        amsgrad=False,
        weight_decay=None,
    ),
    "AdamW": dict(
        learning_rate=0.001,
        weight_decay=0.004,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-7,
        amsgrad=False,
    ),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZER_DEFAULTS))
def test_optimizer_defaults(name):
    opt = getattr(keras.optimizers, name)()
    for attr, expected in OPTIMIZER_DEFAULTS[name].items():
        value = getattr(opt, attr)
        if expected is None or isinstance(expected, bool):
            assert value is expected or value == expected, (attr, value)
        else:
            assert float(value) == pytest.approx(expected, rel=1e-6), (attr, value)
    assert int(opt.iterations) == 0


def test_optimizer_arguments_and_string_identifiers():
    opt = keras.optimizers.Adam(learning_rate=0.05, beta_1=0.8)
    assert float(opt.learning_rate) == pytest.approx(0.05, rel=1e-6)
    assert float(opt.beta_1) == pytest.approx(0.8)
    for ident, cls in [
        ("sgd", "SGD"),
        ("adam", "Adam"),
        ("rmsprop", "RMSprop"),
        ("adagrad", "Adagrad"),
        ("adamw", "AdamW"),
    ]:
        model = _mlp()
        model.compile(optimizer=ident, loss="mse")
        assert isinstance(model.optimizer, getattr(keras.optimizers, cls)), ident


def test_iterations_count_steps():
    x, y = _data(n=10)
    model = _mlp()
    model.compile(optimizer="adam", loss="mse")
    model.fit(x, y, batch_size=4, epochs=2, verbose=0)  # 3 steps per epoch
    assert int(model.optimizer.iterations) == 6


# ----------------------------------------------------------------------------- History


def test_history_keys_params_epoch():
    x, y = _data(n=10)
    model = _mlp()
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    history = model.fit(x, y, batch_size=4, epochs=2, verbose=0)
    assert set(history.history) == {"loss", "mae"}  # Keras sorts keys; compare as a set
    assert all(len(v) == 2 for v in history.history.values())
    assert all(
        isinstance(v, float) and np.isfinite(v)
        for values in history.history.values()
        for v in values
    )
    assert history.epoch == [0, 1]
    assert history.params["epochs"] == 2
    assert history.params["steps"] == 3
    assert history.params["verbose"] == 0


def test_fit_initial_epoch():
    x, y = _data(n=10)
    model = _mlp()
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(x, y, batch_size=4, epochs=5, initial_epoch=3, verbose=0)
    assert history.epoch == [3, 4]
    assert len(history.history["loss"]) == 2
    assert history.params["epochs"] == 5
    assert int(model.optimizer.iterations) == 6


def test_epochs_zero_trains_nothing():
    x, y = _data(n=10)
    model = _mlp()
    model.compile(optimizer="sgd", loss="mse")
    before = model.get_weights()
    history = model.fit(x, y, epochs=0, verbose=0)
    assert history.history == {}
    assert history.epoch == []
    assert history.params["epochs"] == 0
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert int(model.optimizer.iterations) == 0


def test_fit_verbose_zero_is_silent(capfd):
    x, y = _data()
    model = _mlp()
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, y, epochs=2, verbose=0)
    model.evaluate(x, y, verbose=0)
    model.predict(x, verbose=0)
    assert capfd.readouterr().out == ""


# ----------------------------------------------------------------------------- evaluate


def test_evaluate_returns_scalar_list_or_dict():
    x, y = _data(n=12)
    model = _single(1)
    model.compile(optimizer="sgd", loss="mse")
    loss = model.evaluate(x, y, verbose=0)
    assert isinstance(loss, float)
    err = model.predict(x, verbose=0) - y
    assert loss == pytest.approx(float(np.mean(err**2)), rel=1e-5)
    assert model.evaluate(x, y, verbose=0, return_dict=True) == pytest.approx({"loss": loss})

    model = _single(1)
    model.compile(optimizer="sgd", loss="mse", metrics=["mae", "mse"])
    result = model.evaluate(x, y, verbose=0)
    assert isinstance(result, list) and len(result) == 3
    expected = [np.mean(err**2), np.mean(np.abs(err)), np.mean(err**2)]
    np.testing.assert_allclose(result, expected, rtol=1e-5)
    as_dict = model.evaluate(x, y, verbose=0, return_dict=True)
    assert set(as_dict) == {"loss", "mae", "mse"}
    assert as_dict["mae"] == pytest.approx(result[1], rel=1e-6)


def test_train_and_test_on_batch_return_values():
    x, y = _data(n=12)
    model = _single(1)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="mse")
    before = model.test_on_batch(x, y)
    assert isinstance(before, float)
    assert before == pytest.approx(model.evaluate(x, y, verbose=0), rel=1e-5)
    train_loss = model.train_on_batch(x, y)  # loss of the forward pass before the update
    assert isinstance(train_loss, float)
    assert train_loss == pytest.approx(before, rel=1e-5)
    assert model.test_on_batch(x, y) < before

    model = _single(1)
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    out = model.test_on_batch(x, y)
    assert isinstance(out, list) and len(out) == 2
    err = model.predict(x, verbose=0) - y
    np.testing.assert_allclose(out, [np.mean(err**2), np.mean(np.abs(err))], rtol=1e-5)
    out = model.train_on_batch(x, y)
    assert isinstance(out, list) and len(out) == 2


# ----------------------------------------------------------------------------- metrics


def _accuracy_case(kind, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(40, 4)).astype("float32")
    if kind == "binary":
        model = _single(1, "sigmoid", seed=seed)
        y = (rng.random((40, 1)) > 0.5).astype("float32")
        p = model.predict(x, verbose=0)
        return model, x, y, "binary_crossentropy", np.mean((p > 0.5) == y)
    model = _single(3, "softmax", seed=seed)
    labels = rng.integers(0, 3, size=40)
    p = model.predict(x, verbose=0)
    expected = np.mean(np.argmax(p, axis=-1) == labels)
    if kind == "categorical":
        y = np.eye(3, dtype="float32")[labels]
        binary_like = np.mean((p > 0.5) == y)
        assert binary_like != pytest.approx(expected)  # the case must tell them apart
        return model, x, y, "categorical_crossentropy", expected
    if kind == "categorical_mse":  # the loss does not decide, the shapes do
        return model, x, np.eye(3, dtype="float32")[labels], "mse", expected
    if kind == "sparse":
        return model, x, labels, "sparse_categorical_crossentropy", expected
    if kind == "sparse_column":  # (n, 1) integer labels with 3 outputs: still sparse
        return model, x, labels.reshape(-1, 1), "sparse_categorical_crossentropy", expected
    raise AssertionError(kind)


@pytest.mark.parametrize(
    "kind", ["binary", "categorical", "categorical_mse", "sparse", "sparse_column"]
)
@pytest.mark.parametrize("name", ["accuracy", "acc"])
def test_accuracy_string_resolves_from_shapes(kind, name):
    model, x, y, loss, expected = _accuracy_case(kind)
    assert 0.0 < expected < 1.0
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0), loss=loss, metrics=[name])
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    assert set(logs) == {"loss", name}
    assert logs[name] == pytest.approx(expected, abs=1e-6)
    history = model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    assert set(history.history) == {"loss", name}
    assert history.history[name][0] == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize(
    "name, fn",
    [
        ("mae", lambda e: np.mean(np.abs(e))),
        ("mean_absolute_error", lambda e: np.mean(np.abs(e))),
        ("mse", lambda e: np.mean(e**2)),
        ("mean_squared_error", lambda e: np.mean(e**2)),
    ],
)
def test_metric_string_names_in_history(name, fn):
    x, y = _data(n=12, outputs=2)
    model = _single(2)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0), loss="mse", metrics=[name])
    history = model.fit(x, y, batch_size=5, epochs=1, verbose=0)
    assert set(history.history) == {"loss", name}
    err = model.predict(x, verbose=0) - y
    assert history.history[name][0] == pytest.approx(fn(err), rel=1e-5)


def test_evaluate_list_follows_compile_order():
    model, x, y, _, acc = _accuracy_case("binary")
    model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["mae", "accuracy"])
    loss, mae, accuracy = model.evaluate(x, y, verbose=0)
    p = model.predict(x, verbose=0)
    assert mae == pytest.approx(np.mean(np.abs(p - y)), rel=1e-5)
    assert accuracy == pytest.approx(acc, abs=1e-6)
    assert loss > mae


def test_rank1_targets_match_the_output_column():
    # Keras expands y of shape (n,) to (n, 1); it never broadcasts to (n, n).
    rng = np.random.default_rng(4)
    x = rng.normal(size=(6, 4)).astype("float32")
    y = rng.normal(size=6).astype("float32")
    model = _single(1, seed=4)
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    p = model.predict(x, verbose=0)[:, 0]
    assert np.mean((p[:, None] - y) ** 2) != pytest.approx(np.mean((p - y) ** 2))
    loss, mae = model.evaluate(x, y, verbose=0)
    assert loss == pytest.approx(np.mean((p - y) ** 2), rel=1e-5)
    assert mae == pytest.approx(np.mean(np.abs(p - y)), rel=1e-5)

    labels = (rng.random(6) > 0.5).astype("float32")
    model = _single(1, "sigmoid", seed=4)
    model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy"])
    p = model.predict(x, verbose=0)[:, 0]
    loss, accuracy = model.evaluate(x, labels, verbose=0)
    bce = -np.mean(labels * np.log(p) + (1 - labels) * np.log(1 - p))
    assert loss == pytest.approx(bce, rel=1e-5)
    assert accuracy == pytest.approx(np.mean((p > 0.5) == labels), abs=1e-6)


# ----------------------------------------------------------------------------- epoch loss


def test_epoch_loss_is_batch_size_weighted_mean():
    # SGD(0) keeps the model fixed: loss per sample is x**2 with kernel 1, bias 0.
    # Batches of 4, 4, 2: weighted mean = 28.5, plain mean of batch means = 35.83.
    x = np.arange(10, dtype="float32").reshape(10, 1)
    y = np.zeros((10, 1), dtype="float32")
    model = keras.Sequential([keras.Input(shape=(1,)), keras.layers.Dense(1)])
    model.set_weights([np.ones((1, 1), "float32"), np.zeros(1, "float32")])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0), loss="mse", metrics=["mae"])
    history = model.fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0)
    np.testing.assert_allclose(history.history["loss"], [28.5, 28.5], rtol=1e-6)
    np.testing.assert_allclose(history.history["mae"], [4.5, 4.5], rtol=1e-6)
    for batch_size in (3, 4, None):
        logs = model.evaluate(x, y, batch_size=batch_size, verbose=0, return_dict=True)
        assert logs["loss"] == pytest.approx(28.5, rel=1e-6)
        assert logs["mae"] == pytest.approx(4.5, rel=1e-6)
    np.testing.assert_array_equal(model.get_weights()[0], [[1.0]])


# ----------------------------------------------------------------------------- weights


def test_get_weights_order_shapes_and_kernel_layout():
    rng = np.random.default_rng(3)
    model = _mlp(features=4, hidden=3, outputs=2)
    assert [w.shape for w in model.get_weights()] == [(4, 3), (3,), (3, 2), (2,)]
    assert all(w.dtype == np.float32 for w in model.get_weights())
    weights = [rng.normal(size=w.shape).astype("float32") for w in model.get_weights()]
    model.set_weights(weights)
    for a, b in zip(weights, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    x = rng.normal(size=(5, 4)).astype("float32")
    w1, b1, w2, b2 = weights
    expected = np.maximum(x @ w1 + b1, 0.0) @ w2 + b2
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-6)
    assert [tuple(w.shape) for w in model.weights] == [(4, 3), (3,), (3, 2), (2,)]
    assert len(model.trainable_weights) == 4


def test_use_bias_false_has_no_bias_weight():
    model = keras.Sequential(
        [keras.Input(shape=(4,)), keras.layers.Dense(3, use_bias=False), keras.layers.Dense(2)]
    )
    assert [w.shape for w in model.get_weights()] == [(4, 3), (3, 2), (2,)]
    assert model.count_params() == 12 + 6 + 2


def test_layers_exclude_input_layer():
    for first in (keras.Input(shape=(4,)), keras.layers.InputLayer(shape=(4,))):
        model = keras.Sequential([first, keras.layers.Dense(3), keras.layers.Dense(2)])
        assert len(model.layers) == 2
        assert all(isinstance(layer, keras.layers.Dense) for layer in model.layers)
    model = keras.Sequential()
    model.add(keras.Input(shape=(4,)))
    model.add(keras.layers.Dense(3))
    assert len(model.layers) == 1
    assert model.count_params() == 15


def test_count_params_and_summary(capsys):
    model = keras.Sequential(
        [keras.Input(shape=(4,)), keras.layers.Dense(3), keras.layers.Dense(2)]
    )
    assert model.count_params() == 23
    model.summary()
    text = capsys.readouterr().out
    assert "Total params" in text
    assert re.search(r"Total params:\s*23\b", text), text
    assert re.search(r"Trainable params:\s*23\b", text), text
    assert re.search(r"Non-trainable params:\s*0\b", text), text
    assert "Dense" in text and re.search(r"\b15\b", text) and re.search(r"\b8\b", text)


def test_summary_options_as_keras():
    """show_trainable's column (Y, N, "-" without weights), expand_nested's indented rows,
    layer_range and line_length; a Sequential table with the column is Keras 3.15's."""
    inner = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(8, name="first"),
            keras.layers.Dense(2, name="second"),
        ],
        name="inner",
    )
    inner.layers[0].trainable = False
    lines = []
    inner.summary(show_trainable=True, print_fn=lines.append)
    assert (
        lines[2] == "┃ Layer (type)                ┃ Output Shape          ┃    Param # ┃ Trai… ┃"
    )
    assert lines[4].startswith("│ first") and lines[4].endswith(
        "│    40 │   N   │".split("│", 1)[1]
    )
    inputs = keras.Input((4,))
    outer = keras.Model(inputs, keras.layers.Dense(1)(inner(inputs)))
    text = []
    outer.summary(expand_nested=True, show_trainable=True, print_fn=text.append)
    rows = [t for t in text if t.startswith("│")]
    nested = [r for r in rows if "└ " in r]
    assert len(nested) == 2 and "   └ first" in nested[0] and nested[0].rstrip("│ ").endswith("N")
    assert any("(InputLayer)" in r or "input_layer" in r for r in rows)
    assert [r for r in rows if "input_layer" in r][0].split("\n")[0].rstrip("│ ").endswith("-")
    ranged = []
    inner.summary(layer_range=["sec", "second"], line_length=60, print_fn=ranged.append)
    body = [t for t in ranged if t.startswith("│")]
    assert len(body) == 1 and "(Dense)" in body[0] and len(ranged[1]) == 60
    with pytest.raises(ValueError, match="layer_range"):
        inner.summary(layer_range=["nothing", "here"])


def test_build_then_count_params():
    model = keras.Sequential([keras.layers.Dense(3)])
    model.add(keras.layers.Dense(2))
    model.build((None, 4))
    assert model.count_params() == 23


# ----------------------------------------------------------------------------- building


def test_input_shape_on_first_dense():
    model = keras.Sequential([keras.layers.Dense(3, input_shape=(4,)), keras.layers.Dense(2)])
    assert [w.shape for w in model.get_weights()] == [(4, 3), (3,), (3, 2), (2,)]
    assert len(model.layers) == 2


def test_deferred_build_at_fit():
    model = keras.Sequential([keras.layers.Dense(3), keras.layers.Dense(2)])
    assert model.get_weights() == []
    model.compile(optimizer="adam", loss="mse")
    x = np.ones((5, 7), dtype="float32")
    history = model.fit(x, np.ones((5, 2), dtype="float32"), verbose=0)
    assert len(history.history["loss"]) == 1
    assert [w.shape for w in model.get_weights()] == [(7, 3), (3,), (3, 2), (2,)]
    assert model.count_params() == 24 + 8


def test_deferred_build_at_predict():
    model = keras.Sequential([keras.layers.Dense(3), keras.layers.Dense(2)])
    out = model.predict(np.ones((5, 6), dtype="float32"), verbose=0)
    assert out.shape == (5, 2)
    assert [w.shape for w in model.get_weights()] == [(6, 3), (3,), (3, 2), (2,)]


# ----------------------------------------------------------------------------- outputs


def test_predict_and_call_outputs():
    x, _ = _data(n=10)
    model = _mlp(outputs=2)
    out = model.predict(x, verbose=0)
    assert isinstance(out, np.ndarray)
    assert out.shape == (10, 2) and out.dtype == np.float32
    assert model.predict(x.astype("float64"), verbose=0).dtype == np.float32
    np.testing.assert_allclose(model.predict(x, batch_size=3, verbose=0), out, rtol=1e-6)
    called = model(x)
    assert isinstance(called, np.ndarray)
    np.testing.assert_allclose(called, out, rtol=1e-6)
    on_batch = model.predict_on_batch(x)
    assert isinstance(on_batch, np.ndarray)
    np.testing.assert_allclose(on_batch, out, rtol=1e-6)


def test_to_categorical():
    out = keras.utils.to_categorical([0, 2, 1])
    np.testing.assert_array_equal(out, [[1, 0, 0], [0, 0, 1], [0, 1, 0]])
    assert out.dtype == np.float64  # Keras 3 builds it with np.zeros for NumPy/list input
    assert keras.utils.to_categorical([0, 1], num_classes=4).shape == (2, 4)
    column = keras.utils.to_categorical(np.array([[1], [0]]))  # (n, 1) is squeezed
    np.testing.assert_array_equal(column, [[0, 1], [1, 0]])
