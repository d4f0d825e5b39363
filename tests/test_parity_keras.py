"""Train the same model in Keras 3 (torch backend) and eigennet from the same weights.

Skipped when keras or torch is not installed.
"""

import os

import numpy as np
import pytest

os.environ["KERAS_BACKEND"] = "torch"
pytest.importorskip("torch")
keras = pytest.importorskip("keras")

import eigennet  # noqa: E402

RTOL, ATOL = 1e-4, 1e-5


@pytest.fixture(autouse=True)
def _seed_keras():
    keras.utils.set_random_seed(3)  # Keras draws the shared initial weights


def _build(lib, features, hidden, outputs, out_activation):
    return lib.Sequential(
        [
            lib.Input(shape=(features,)),
            lib.layers.Dense(hidden, activation="tanh"),
            lib.layers.Dense(outputs, activation=out_activation),
        ]
    )


def _pair(features, hidden, outputs, out_activation):
    k_model = _build(keras, features, hidden, outputs, out_activation)
    e_model = _build(eigennet, features, hidden, outputs, out_activation)
    e_model.set_weights([np.array(w) for w in k_model.get_weights()])
    return k_model, e_model


def _assert_same_weights(k_model, e_model, rtol=RTOL, atol=ATOL):
    k_weights, e_weights = k_model.get_weights(), e_model.get_weights()
    assert len(k_weights) == len(e_weights)
    for i, (kw, ew) in enumerate(zip(k_weights, e_weights)):
        np.testing.assert_allclose(ew, kw, rtol=rtol, atol=atol, err_msg=f"weight {i}")


def _assert_same_history(k_hist, e_hist, rtol=RTOL, atol=ATOL):
    assert set(e_hist.history) == set(k_hist.history)
    for key, values in k_hist.history.items():
        np.testing.assert_allclose(e_hist.history[key], values, rtol=rtol, atol=atol, err_msg=key)
    assert e_hist.epoch == k_hist.epoch


def _train_both(k_model, e_model, x, y, make_optimizer, loss, metrics, epochs=3, batch_size=8):
    k_model.compile(optimizer=make_optimizer(keras), loss=loss(keras), metrics=metrics)
    e_model.compile(optimizer=make_optimizer(eigennet), loss=loss(eigennet), metrics=metrics)
    fit = dict(batch_size=batch_size, epochs=epochs, shuffle=False, verbose=0)
    k_hist = k_model.fit(x, y, **fit)
    e_hist = e_model.fit(x, y, **fit)
    _assert_same_history(k_hist, e_hist)
    _assert_same_weights(k_model, e_model)
    k_eval = k_model.evaluate(x, y, verbose=0, return_dict=True)
    e_eval = e_model.evaluate(x, y, verbose=0, return_dict=True)
    assert set(e_eval) == set(k_eval)
    for key in k_eval:
        assert e_eval[key] == pytest.approx(k_eval[key], rel=RTOL, abs=ATOL), key
    np.testing.assert_allclose(
        e_model.predict(x, verbose=0), k_model.predict(x, verbose=0), rtol=RTOL, atol=ATOL
    )


def _regression_data(n=30, features=5, outputs=2, seed=0):
    rng = np.random.RandomState(seed)
    return rng.randn(n, features).astype("float32"), rng.randn(n, outputs).astype("float32")


OPTIMIZERS = {
    "sgd": lambda lib: lib.optimizers.SGD(learning_rate=0.1),
    "sgd_nesterov": lambda lib: lib.optimizers.SGD(learning_rate=0.05, momentum=0.9, nesterov=True),
    "adagrad": lambda lib: lib.optimizers.Adagrad(learning_rate=0.1),
    "rmsprop_centered_momentum": lambda lib: lib.optimizers.RMSprop(
        learning_rate=0.01, momentum=0.5, centered=True
    ),
    "adam": lambda lib: lib.optimizers.Adam(learning_rate=0.01),
    "adam_amsgrad": lambda lib: lib.optimizers.Adam(learning_rate=0.01, amsgrad=True),
    "adamw": lambda lib: lib.optimizers.AdamW(learning_rate=0.01, weight_decay=0.1),
    "adam_default": lambda lib: lib.optimizers.Adam(),
    "adamax": lambda lib: lib.optimizers.Adamax(learning_rate=0.01),
    "nadam": lambda lib: lib.optimizers.Nadam(learning_rate=0.01),
    "adadelta": lambda lib: lib.optimizers.Adadelta(learning_rate=1.0),
    "lion": lambda lib: lib.optimizers.Lion(learning_rate=0.003, weight_decay=0.01),
    "lamb": lambda lib: lib.optimizers.Lamb(learning_rate=0.01, weight_decay=0.01),
    "ftrl": lambda lib: lib.optimizers.Ftrl(
        learning_rate=0.05,
        l1_regularization_strength=0.001,
        l2_regularization_strength=0.01,
        l2_shrinkage_regularization_strength=0.01,
        beta=0.1,
    ),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizer_parity(name):
    x, y = _regression_data()  # 30 rows, batch 8: the last batch is partial
    k_model, e_model = _pair(5, 8, 2, None)
    _train_both(k_model, e_model, x, y, OPTIMIZERS[name], lambda lib: "mse", ["mae"])
    assert int(e_model.optimizer.iterations) == int(k_model.optimizer.iterations) == 12


def _classification(kind, n=30, features=5, seed=1):
    rng = np.random.RandomState(seed)
    x = rng.randn(n, features).astype("float32")
    if kind == "binary":
        return x, (rng.rand(n, 1) > 0.5).astype("float32")
    labels = rng.randint(0, 3, size=n)
    if kind == "sparse":
        return x, labels
    return x, np.eye(3, dtype="float32")[labels]


LOSSES = {
    # name: (output units, output activation, data, loss factory, metrics)
    "mse": (2, None, "regression", lambda lib: "mse", ["mae"]),
    "mae": (2, None, "regression", lambda lib: "mae", ["mse"]),
    "huber": (2, None, "regression", lambda lib: "huber", ["mae"]),
    "huber_delta": (2, None, "regression", lambda lib: lib.losses.Huber(delta=0.5), []),
    "bce": (1, "sigmoid", "binary", lambda lib: "binary_crossentropy", ["accuracy"]),
    "bce_logits": (
        1,
        None,
        "binary",
        lambda lib: lib.losses.BinaryCrossentropy(from_logits=True),
        [],
    ),
    "cce": (3, "softmax", "onehot", lambda lib: "categorical_crossentropy", ["accuracy"]),
    "cce_logits": (
        3,
        None,
        "onehot",
        lambda lib: lib.losses.CategoricalCrossentropy(from_logits=True),
        [],
    ),
    "sparse_cce": (
        3,
        "softmax",
        "sparse",
        lambda lib: "sparse_categorical_crossentropy",
        ["accuracy"],
    ),
    "sparse_cce_logits": (
        3,
        None,
        "sparse",
        lambda lib: lib.losses.SparseCategoricalCrossentropy(from_logits=True),
        ["accuracy"],
    ),
}


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_loss_parity(name):
    units, activation, data, loss, metrics = LOSSES[name]
    x, y = _regression_data() if data == "regression" else _classification(data)
    k_model, e_model = _pair(5, 8, units, activation)
    _train_both(
        k_model, e_model, x, y, lambda lib: lib.optimizers.Adam(learning_rate=0.01), loss, metrics
    )


def test_train_and_test_on_batch_parity():
    x, y = _classification("binary")
    k_model, e_model = _pair(5, 8, 1, "sigmoid")
    for lib, model in ((keras, k_model), (eigennet, e_model)):
        model.compile(
            optimizer=lib.optimizers.RMSprop(0.01), loss="binary_crossentropy", metrics=["accuracy"]
        )
    for _ in range(3):
        np.testing.assert_allclose(
            e_model.train_on_batch(x, y), k_model.train_on_batch(x, y), rtol=RTOL, atol=ATOL
        )
    np.testing.assert_allclose(
        e_model.test_on_batch(x, y), k_model.test_on_batch(x, y), rtol=RTOL, atol=ATOL
    )
    _assert_same_weights(k_model, e_model)


# ----------------------------------------------------------------------------- tutorial seeds
# The three models of the tutorial seeds (bench workloads W1, W2 and the linear regression),
# with their data exactly as written there: integer inputs and, for two, rank-1 targets.


def _seed_tiny(lib):
    model = lib.Sequential(
        [
            lib.layers.Dense(2, activation="sigmoid", input_shape=(4,)),
            lib.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(
        optimizer=lib.optimizers.Adam(0.1), loss="binary_crossentropy", metrics=["accuracy"]
    )
    return model, np.array([[1, 2, 3, 4]]), np.array([1]), None


def _seed_mlp(lib):
    model = lib.Sequential(
        [
            lib.layers.Dense(10, activation="relu", input_shape=(2,)),
            lib.layers.Dense(5, activation="relu"),
            lib.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(
        optimizer=lib.optimizers.Adam(learning_rate=0.001), loss=lib.losses.binary_crossentropy
    )
    return model, np.array([[1, 2], [3, 4], [5, 6]]), np.array([[0], [1], [1]]), 1


def _seed_linear(lib):
    model = lib.Sequential([lib.layers.Dense(units=1, input_shape=(2,))])
    model.compile(
        optimizer=lib.optimizers.Adam(0.01),
        loss="mean_squared_error",
        metrics=["mean_absolute_error"],
    )
    return model, np.array([[1, 2], [2, 3], [3, 4], [4, 5]]), np.array([2, 3, 4, 5]), None


@pytest.mark.parametrize("seed_model", [_seed_tiny, _seed_mlp, _seed_linear])
def test_tutorial_seed_parity(seed_model):
    k_model, x, y, batch_size = seed_model(keras)
    e_model, _, _, _ = seed_model(eigennet)
    e_model.set_weights([np.array(w) for w in k_model.get_weights()])
    # Over the tutorials' 1000 epochs float32 rounding alone moves the results: against Keras
    # float64, Keras float32 drifts by up to 3.5e-4 in the seed-MLP weights and 1.4e-4 in its
    # loss (measured for several init seeds; eigennet's own drift is of the same size), so the
    # comparison here is to 1e-3. The tight checks are the few-step tests above.
    tol = dict(rtol=1e-3, atol=1e-3)
    fit = dict(batch_size=batch_size, epochs=1000, shuffle=False, verbose=0)
    k_hist = k_model.fit(x, y, **fit)
    e_hist = e_model.fit(x, y, **fit)
    _assert_same_history(k_hist, e_hist, **tol)
    _assert_same_weights(k_model, e_model, **tol)
    np.testing.assert_allclose(e_model.predict(x, verbose=0), k_model.predict(x, verbose=0), **tol)
    k_eval = k_model.evaluate(x, y, verbose=0)
    e_eval = e_model.evaluate(x, y, verbose=0)
    assert type(e_eval) is type(k_eval)
    np.testing.assert_allclose(e_eval, k_eval, **tol)
