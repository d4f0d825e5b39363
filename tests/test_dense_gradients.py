"""Gradients of Dense networks: model._compute_gradients vs the reference and finite differences."""

import contextlib

import numpy as np
import pytest

import eigennet
from reference import activations as ref_act
from reference import dense as ref
from reference import losses as ref_losses

BATCH, N_IN, N_HIDDEN = 6, 4, 5
LOSS_CLASSES = {
    "binary_crossentropy": "BinaryCrossentropy",
    "categorical_crossentropy": "CategoricalCrossentropy",
    "sparse_categorical_crossentropy": "SparseCategoricalCrossentropy",
}
OUTPUTS = {  # loss -> (units, output activation for probabilities)
    "mean_squared_error": (2, "linear"),
    "mean_absolute_error": (2, "linear"),
    "huber": (2, "linear"),
    "binary_crossentropy": (1, "sigmoid"),
    "categorical_crossentropy": (3, "softmax"),
    "sparse_categorical_crossentropy": (3, "softmax"),
}
LOSS_CASES = [(n, False) for n in ref_losses.NAMES] + [
    (n, True) for n in ref_losses.HAS_FROM_LOGITS
]
LOSS_IDS = [f"{n}-logits" if logits else n for n, logits in LOSS_CASES]


@contextlib.contextmanager
def floatx(name):
    eigennet.config.set_floatx(name)
    try:
        yield
    finally:
        eigennet.config.set_floatx("float32")


def targets(loss, units, rng):
    if loss == "sparse_categorical_crossentropy":
        return rng.integers(0, units, size=BATCH)
    if loss == "categorical_crossentropy":
        return np.eye(units)[rng.integers(0, units, size=BATCH)]
    if loss == "binary_crossentropy":
        return rng.integers(0, 2, size=BATCH).astype(np.float64)  # (batch,) vs output (batch, 1)
    return rng.normal(size=(BATCH, units))


def away_from_kinks(x, y, layers, loss):
    """Pre-activations and mae residuals at least 0.02 from the non-differentiable points."""
    h = x
    for kernel, bias, act in layers:
        z = h @ kernel + (0 if bias is None else bias)
        if np.min(np.abs(z)) < 0.02:
            return False
        h = ref_act.forward(act, z)
    return loss != "mean_absolute_error" or np.min(np.abs(h - y)) > 0.02


def make_problem(layer_specs, loss, seed):
    """x, y and reference layers [(kernel, bias | None, activation)] in float64.

    layer_specs: [(units, activation, use_bias)]; redraws until away from kinks.
    """
    rng = np.random.default_rng(seed)
    while True:
        x = rng.normal(size=(BATCH, N_IN))
        layers, n_in = [], N_IN
        for units, act, use_bias in layer_specs:
            kernel = rng.normal(size=(n_in, units)) / np.sqrt(n_in)
            bias = rng.normal(size=units) * 0.1 if use_bias else None
            layers.append((kernel, bias, act))
            n_in = units
        y = targets(loss, layer_specs[-1][0], rng)
        if away_from_kinks(x, y, layers, loss):
            return x, y, layers


def loss_argument(loss, from_logits):
    if from_logits:
        return getattr(eigennet.losses, LOSS_CLASSES[loss])(from_logits=True)
    return loss


def flat_weights(layers, dtype):
    return [w.astype(dtype) for kernel, bias, _ in layers for w in (kernel, bias) if w is not None]


def build_model(layers, loss, from_logits, dtype):
    model = eigennet.Sequential([eigennet.Input(shape=(N_IN,))])
    for kernel, bias, act in layers:
        model.add(eigennet.layers.Dense(kernel.shape[1], activation=act, use_bias=bias is not None))
    model.compile(optimizer="sgd", loss=loss_argument(loss, from_logits))
    model.set_weights(flat_weights(layers, dtype))
    return model


def check_against_reference(layer_specs, loss, from_logits, dtype, seed):
    x, y, layers = make_problem(layer_specs, loss, seed)
    expected_loss, expected_grads = ref.loss_and_grads(x, y, layers, loss, from_logits=from_logits)
    model = build_model(layers, loss, from_logits, dtype)
    y_in = y if loss == "sparse_categorical_crossentropy" else y.astype(dtype)
    value, grads = model._compute_gradients(x.astype(dtype), y_in)
    tol = dict(rtol=1e-10, atol=1e-13) if dtype == np.float64 else dict(rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(value, expected_loss, **tol)
    assert len(grads) == len(expected_grads)
    for got, expected in zip(grads, expected_grads, strict=True):
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, **tol)


def check_finite_differences(layer_specs, loss, from_logits, seed, h=1e-6):
    x, y, layers = make_problem(layer_specs, loss, seed)
    weights = flat_weights(layers, np.float64)
    model = build_model(layers, loss, from_logits, np.float64)
    _, grads = model._compute_gradients(x, y)
    for i, w in enumerate(weights):
        fd = np.zeros_like(w)
        for idx in np.ndindex(w.shape):
            values = []
            for sign in (1, -1):
                perturbed = [v.copy() for v in weights]
                perturbed[i][idx] += sign * h
                model.set_weights(perturbed)
                values.append(model._compute_gradients(x, y)[0])
            fd[idx] = (values[0] - values[1]) / (2 * h)
        np.testing.assert_allclose(grads[i], fd, rtol=1e-6, atol=1e-9, err_msg=f"weight {i}")


def hidden_specs(act):
    return [(N_HIDDEN, act, True), (2, "linear", True)]


def loss_specs(loss, from_logits):
    units, out_act = OUTPUTS[loss]
    return [(N_HIDDEN, "tanh", True), (units, "linear" if from_logits else out_act, True)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("act", ref_act.NAMES)
def test_activation_gradients_match_reference(act, dtype):
    with floatx(np.dtype(dtype).name):
        check_against_reference(hidden_specs(act), "mean_squared_error", False, dtype, seed=0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("loss,from_logits", LOSS_CASES, ids=LOSS_IDS)
def test_loss_gradients_match_reference(loss, from_logits, dtype):
    with floatx(np.dtype(dtype).name):
        check_against_reference(loss_specs(loss, from_logits), loss, from_logits, dtype, seed=1)


@pytest.mark.parametrize("act", ref_act.NAMES)
def test_activation_gradients_match_finite_differences(act, float64):
    check_finite_differences(hidden_specs(act), "mean_squared_error", False, seed=2)


@pytest.mark.parametrize("loss,from_logits", LOSS_CASES, ids=LOSS_IDS)
def test_loss_gradients_match_finite_differences(loss, from_logits, float64):
    check_finite_differences(loss_specs(loss, from_logits), loss, from_logits, seed=3)


def test_deeper_network_without_bias_and_activation_layer(float64):
    """Dense(use_bias=False) + Activation layer + two more Dense layers; weight order matters."""
    x, y, layers = make_problem(
        [(N_HIDDEN, "elu", False), (3, "sigmoid", True), (2, "linear", True)],
        "mean_squared_error",
        seed=4,
    )
    expected_loss, expected_grads = ref.loss_and_grads(x, y, layers, "mean_squared_error")
    (k1, _, _), (k2, b2, _), (k3, b3, _) = layers
    model = eigennet.Sequential(
        [
            eigennet.Input(shape=(N_IN,)),
            eigennet.layers.Dense(N_HIDDEN, use_bias=False),
            eigennet.layers.Activation("elu"),
            eigennet.layers.Dense(3, activation="sigmoid"),
            eigennet.layers.Dense(2),
        ]
    )
    model.compile(optimizer="adam", loss="mse")
    model.set_weights([k1, k2, b2, k3, b3])
    value, grads = model._compute_gradients(x, y)
    np.testing.assert_allclose(value, expected_loss, rtol=1e-10)
    for got, expected in zip(grads, expected_grads, strict=True):
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-13)


def test_compute_gradients_does_not_step(float64):
    x, y, layers = make_problem(hidden_specs("relu"), "mean_squared_error", seed=5)
    model = build_model(layers, "mean_squared_error", False, np.float64)
    before = model.get_weights()
    first = model._compute_gradients(x, y)
    second = model._compute_gradients(x, y)
    for a, b in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert first[0] == second[0]


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("units", [512, 200])  # 200: a last column block narrower than 16
def test_large_batch_bias_gradient_is_the_column_sum(float64, threads, units):
    """A batch large enough that the bias gradient's column sums split between threads."""
    previous = eigennet.config.get_num_threads()
    eigennet.config.set_num_threads(threads)
    try:
        rng = np.random.default_rng(3)
        n, features = 1536, 8  # n * units above the 2**18 grain
        x = rng.normal(size=(n, features))
        y = rng.normal(size=(n, units))
        kernel, bias = rng.normal(size=(features, units)) * 0.3, rng.normal(size=units)
        model = eigennet.Sequential([eigennet.Input(shape=(features,))])
        model.add(eigennet.layers.Dense(units))
        model.compile(optimizer="sgd", loss="mean_squared_error")
        model.set_weights([kernel, bias])
        _, grads = model._compute_gradients(x, y)
        dz = 2 * (x @ kernel + bias - y) / (n * units)
        np.testing.assert_allclose(grads[0], x.T @ dz, rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(grads[1], dz.sum(axis=0), rtol=1e-10, atol=1e-14)
    finally:
        eigennet.config.set_num_threads(previous)


@pytest.mark.parametrize("threads", [1, 2])
def test_large_broadcast_addition_gradients(float64, threads):
    """x + w with w broadcast over the batch (a position embedding): the same-shape operand's
    gradient is copied through and w's is summed over the batch, both split between the
    threads at this size (batch * steps * width above the 2**18 grain)."""

    class AddPositions(eigennet.layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=tuple(input_shape[1:]), initializer="zeros")

        def call(self, x):
            return x + self.w

    previous = eigennet.config.get_num_threads()
    eigennet.config.set_num_threads(threads)
    try:
        rng = np.random.default_rng(4)
        n, steps, width = 64, 64, 72
        x = rng.normal(size=(n, steps, width))
        y = rng.normal(size=(n, steps, width))
        inputs = eigennet.Input(shape=(steps, width))
        model = eigennet.Model(inputs, AddPositions()(eigennet.layers.Dense(width)(inputs)))
        model.compile(optimizer="sgd", loss="mean_squared_error")
        kernel, bias = rng.normal(size=(width, width)) * 0.2, rng.normal(size=width)
        positions = rng.normal(size=(steps, width))
        model.set_weights([kernel, bias, positions])
        _, grads = model._compute_gradients(x, y)
        dz = 2 * (x @ kernel + bias + positions - y) / (n * steps * width)
        np.testing.assert_allclose(grads[0], np.einsum("nti,ntj->ij", x, dz), rtol=1e-9)
        np.testing.assert_allclose(grads[1], dz.sum(axis=(0, 1)), rtol=1e-9, atol=1e-15)
        np.testing.assert_allclose(grads[2], dz.sum(axis=0), rtol=1e-9, atol=1e-15)
    finally:
        eigennet.config.set_num_threads(previous)


@pytest.mark.parametrize("threads", [1, 2])
def test_large_fan_out_gradients_add_up(float64, threads):
    """A tensor read by two layers (fan-out) gets the sum of their gradients, at a size whose
    products and element-wise passes split between the threads."""
    previous = eigennet.config.get_num_threads()
    eigennet.config.set_num_threads(threads)
    try:
        rng = np.random.default_rng(5)
        n, features, width = 2048, 6, 160
        x = rng.normal(size=(n, features))
        y = rng.normal(size=(n, width))
        inputs = eigennet.Input(shape=(features,))
        hidden = eigennet.layers.Dense(width, use_bias=False)(inputs)
        left = eigennet.layers.Dense(width, use_bias=False)(hidden)
        right = eigennet.layers.Dense(width, use_bias=False)(hidden)
        model = eigennet.Model(inputs, eigennet.layers.Add()([left, right]))
        model.compile(optimizer="sgd", loss="mean_squared_error")
        w0 = rng.normal(size=(features, width)) * 0.3
        w1, w2 = (rng.normal(size=(width, width)) * 0.1 for _ in range(2))
        model.set_weights([w0, w1, w2])
        _, grads = model._compute_gradients(x, y)
        h = x @ w0
        dz = 2 * (h @ w1 + h @ w2 - y) / (n * width)
        dh = dz @ w1.T + dz @ w2.T
        np.testing.assert_allclose(grads[0], x.T @ dh, rtol=1e-9, atol=1e-15)
        np.testing.assert_allclose(grads[1], h.T @ dz, rtol=1e-9, atol=1e-15)
    finally:
        eigennet.config.set_num_threads(previous)
