"""Conv1D / Conv2D: forward and backward against the NumPy reference for every padding, stride
and dilation combination at small sizes, finite differences through small CNNs, shapes, config
and bad arguments."""

import contextlib

import numpy as np
import pytest

import eigennet
from eigennet import _core
from gradient_check import assert_gradients_match_finite_differences
from reference import conv as ref

layers = eigennet.layers

# (rank, sample shape, filters, kernel_size, strides, padding, dilation_rate)
CASES_2D = [
    ((5, 6, 2), 3, 3, 1, "valid", 1),
    ((5, 6, 2), 3, 3, 1, "same", 1),
    ((7, 6, 3), 2, (3, 2), 2, "same", 1),  # uneven padding on both axes
    ((6, 7, 2), 3, (2, 3), (2, 3), "valid", 1),
    ((6, 7, 2), 3, (2, 3), (2, 3), "same", 1),
    ((8, 7, 2), 2, 3, 1, "same", 2),
    ((8, 9, 1), 3, (2, 3), 1, "valid", (2, 3)),
    ((5, 5, 3), 4, 1, 1, "valid", 1),  # 1x1: the input is its own column matrix
    ((5, 5, 3), 2, 1, 2, "same", 1),
    ((4, 4, 2), 2, 4, 3, "same", 1),  # kernel as large as the input
    ((6, 6, 2), 2, 5, 2, "same", 1),  # padding wider than a stride
    ((3, 9, 2), 2, (1, 4), (1, 2), "same", 1),
    # one input channel: taps-major columns
    ((7, 8, 1), 2, 3, 2, "same", 1),
    ((6, 6, 1), 3, (3, 2), 1, "same", 1),
    ((9, 9, 1), 2, 3, 1, "same", 2),
    ((2, 2, 1), 2, 5, 1, "same", 1),  # some taps never reach the data
]
CASES_1D = [
    ((9, 3), 2, 3, 1, "valid", 1),
    ((9, 3), 2, 3, 1, "same", 1),
    ((9, 3), 2, 3, 1, "causal", 1),
    ((10, 2), 3, 3, 2, "same", 1),
    ((10, 2), 3, 3, 2, "causal", 1),
    ((11, 2), 2, 2, 1, "causal", 3),
    ((11, 2), 2, 3, 1, "same", 2),
    ((11, 2), 2, 3, 1, "valid", 2),
    ((7, 4), 3, 1, 1, "valid", 1),
    ((6, 2), 2, 4, 3, "same", 1),
    ((5, 1), 4, 5, 1, "valid", 1),
    ((10, 1), 2, 3, 1, "causal", 2),
    ((9, 1), 3, 4, 3, "same", 1),
]
CASES = [(2, *c) for c in CASES_2D] + [(1, *c) for c in CASES_1D]
ACTIVATIONS = ["linear", "relu", "tanh", "softmax", "sigmoid"]


def case_id(case):
    rank, shape, filters, kernel, strides, padding, dilation = case
    return f"{rank}d-{'x'.join(map(str, shape))}-k{kernel}-s{strides}-{padding}-d{dilation}"


@contextlib.contextmanager
def floatx(name):
    eigennet.config.set_floatx(name)
    try:
        yield
    finally:
        eigennet.config.set_floatx("float32")


def tup(v, rank):
    return (v,) * rank if isinstance(v, int) else tuple(v)


def make_layer(case, activation="linear", use_bias=True, dtype="float64"):
    rank, shape, filters, kernel, strides, padding, dilation = case
    cls = layers.Conv1D if rank == 1 else layers.Conv2D
    layer = cls(
        filters,
        kernel,
        strides=strides,
        padding=padding,
        dilation_rate=dilation,
        activation=activation,
        use_bias=use_bias,
        dtype=dtype,
    )
    layer.build((None, *shape))
    return layer


def random_weights(layer, rng):
    weights = [rng.normal(size=w.shape) * 0.5 for w in layer.weights]
    layer.set_weights(weights)
    return weights


def vjp(layer, x, dy):
    """(y, parameter gradient, input gradient) of one native forward + backward."""
    fn = getattr(_core, f"layer_vjp_{layer.dtype}")
    y, grad, dx = fn(layer._core, x.reshape(len(x), -1), dy.reshape(len(x), -1))
    return y.reshape(dy.shape), grad, dx.reshape(x.shape)


@pytest.mark.parametrize("case", CASES, ids=case_id)
@pytest.mark.parametrize("use_bias", [True, False])
def test_forward_and_backward_match_reference(case, use_bias):
    rank, shape, _, _, strides, padding, dilation = case
    rng = np.random.default_rng(0)
    for i, activation in enumerate(ACTIVATIONS):
        layer = make_layer(case, activation, use_bias)
        weights = random_weights(layer, rng)
        kernel, bias = weights[0], weights[1] if use_bias else None
        x = rng.normal(size=(3, *shape))
        args = (tup(strides, rank), padding, tup(dilation, rank))
        expected, _ = ref.forward(x, kernel, bias, *args, activation=activation)
        assert layer.output_shape == (None, *expected.shape[1:])
        dy = rng.normal(size=expected.shape)
        y, grad, dx = vjp(layer, x, dy)
        np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12, err_msg=activation)
        dk, db, dx_expected = ref.backward(x, kernel, bias, *args, dy, activation=activation)
        expected_grad = np.concatenate([dk.ravel()] + ([db] if use_bias else []))
        np.testing.assert_allclose(grad, expected_grad, rtol=1e-10, atol=1e-12, err_msg=activation)
        np.testing.assert_allclose(dx, dx_expected, rtol=1e-10, atol=1e-12, err_msg=activation)
        if i == 0:  # predict goes through the same forward
            model = eigennet.Sequential([layer])
            np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-12)


@pytest.mark.parametrize("case", CASES[::3], ids=case_id)
def test_float32_matches_reference(case):
    rank, shape, _, _, strides, padding, dilation = case
    rng = np.random.default_rng(1)
    layer = make_layer(case, "tanh", dtype="float32")
    kernel, bias = random_weights(layer, rng)
    x = rng.normal(size=(4, *shape))
    args = (tup(strides, rank), padding, tup(dilation, rank))
    expected, _ = ref.forward(x, kernel, bias, *args, activation="tanh")
    dy = rng.normal(size=expected.shape)
    y, grad, dx = vjp(layer, x.astype(np.float32), dy.astype(np.float32))
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)
    dk, db, dx_expected = ref.backward(x, kernel, bias, *args, dy, activation="tanh")
    np.testing.assert_allclose(grad, np.concatenate([dk.ravel(), db]), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(dx, dx_expected, rtol=1e-4, atol=1e-4)


def test_kernel_layout_is_keras():
    """kernel[kh, kw, c, f] multiplies x[oh + kh, ow + kw, c] into output channel f."""
    layer = layers.Conv2D(2, (2, 3), use_bias=False, dtype="float64")
    layer.build((None, 4, 5, 3))
    assert layer.kernel.shape == (2, 3, 3, 2)
    kernel = np.zeros((2, 3, 3, 2))
    kernel[1, 2, 0, 1] = 1.0
    layer.set_weights([kernel])
    x = np.arange(60, dtype=np.float64).reshape(1, 4, 5, 3)
    y = layer(x)
    assert y.shape == (1, 3, 3, 2)
    np.testing.assert_array_equal(y[0, :, :, 0], 0)
    np.testing.assert_array_equal(y[0, :, :, 1], x[0, 1:4, 2:5, 0])


@pytest.mark.parametrize("shape", [(32, 32, 8), (64, 64, 1)], ids=["channels", "one-channel"])
@pytest.mark.parametrize("threads", [1, 2])
def test_chunks_spread_over_threads_match_reference(shape, threads):
    """Batches large enough for several chunks of samples, which threads take in parallel."""
    rng = np.random.default_rng(7)
    case = (2, shape, 16, 3, 1, "same", 1)
    before = eigennet.config.get_num_threads()
    eigennet.config.set_num_threads(threads)
    try:
        layer = make_layer(case, "relu")
        kernel, bias = random_weights(layer, rng)
        x = rng.normal(size=(9, *shape))
        expected, _ = ref.forward(x, kernel, bias, (1, 1), "same", (1, 1), activation="relu")
        dy = rng.normal(size=expected.shape)
        y, grad, dx = vjp(layer, x, dy)
    finally:
        eigennet.config.set_num_threads(before)
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12)
    dk, db, dx_expected = ref.backward(
        x, kernel, bias, (1, 1), "same", (1, 1), dy, activation="relu"
    )
    np.testing.assert_allclose(grad, np.concatenate([dk.ravel(), db]), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(dx, dx_expected, rtol=1e-10, atol=1e-12)


def test_large_batch_is_chunked_consistently():
    """A batch whose column matrix exceeds the core's budget is processed in chunks; outputs
    and gradients equal those of small batches."""
    rng = np.random.default_rng(2)
    with floatx("float64"):
        model = eigennet.Sequential(
            [
                eigennet.Input(shape=(32, 32, 8)),
                layers.Conv2D(4, 3, padding="same", activation="tanh"),
                layers.GlobalAveragePooling2D(),
            ]
        )
        model.compile(optimizer="sgd", loss="mse")
        x = rng.normal(size=(300, 32, 32, 8))  # 73,728 column values per sample: 3 chunks
        y = rng.normal(size=(300, 4))
        whole = model.predict(x, batch_size=300, verbose=0)
        parts = model.predict(x, batch_size=50, verbose=0)
        np.testing.assert_allclose(whole, parts, rtol=1e-12, atol=1e-14)
        loss, grads = model._compute_gradients(x, y)
        pieces = [model._compute_gradients(x[i : i + 50], y[i : i + 50]) for i in range(0, 300, 50)]
        np.testing.assert_allclose(loss, np.mean([p[0] for p in pieces]), rtol=1e-12)
        for k, g in enumerate(grads):
            np.testing.assert_allclose(g, np.mean([p[1][k] for p in pieces], axis=0), rtol=1e-10)


# ------------------------------------------------------------------ finite differences
def test_finite_differences_cnn_2d():
    rng = np.random.default_rng(3)
    with floatx("float64"):
        model = eigennet.Sequential(
            [
                eigennet.Input(shape=(7, 8, 2)),
                layers.Conv2D(3, (2, 3), strides=2, padding="same", activation="tanh"),
                layers.MaxPooling2D(2, strides=1, padding="same"),
                layers.Conv2D(2, 2, dilation_rate=(1, 2), activation="sigmoid"),
                layers.AveragePooling2D((2, 1), padding="same"),
                layers.Conv2D(2, 1, use_bias=False),
                layers.GlobalAveragePooling2D(),
                layers.Dense(2),
            ]
        )
        model.compile(optimizer="sgd", loss="mse")
        assert_gradients_match_finite_differences(
            model, rng.normal(size=(4, 7, 8, 2)), rng.normal(size=(4, 2))
        )


def test_finite_differences_cnn_1d():
    rng = np.random.default_rng(4)
    with floatx("float64"):
        model = eigennet.Sequential(
            [
                eigennet.Input(shape=(12, 3)),
                layers.Conv1D(3, 3, padding="causal", dilation_rate=2, activation="tanh"),
                layers.AveragePooling1D(3, strides=2, padding="same"),
                layers.Conv1D(4, 2, strides=2, padding="same", activation="elu"),
                layers.MaxPooling1D(2, padding="same"),
                layers.Conv1D(2, 1),
                layers.GlobalMaxPooling1D(),
                layers.Dense(1),
            ]
        )
        model.compile(optimizer="sgd", loss="mse")
        assert_gradients_match_finite_differences(
            model, rng.normal(size=(5, 12, 3)), rng.normal(size=(5, 1))
        )


def test_regularizers_add_to_loss_and_gradient():
    rng = np.random.default_rng(5)
    with floatx("float64"):
        conv = layers.Conv1D(
            2,
            3,
            kernel_regularizer=eigennet.regularizers.L2(0.1),
            bias_regularizer=eigennet.regularizers.L1(0.2),
            activity_regularizer=eigennet.regularizers.L2(0.05),
        )
        model = eigennet.Sequential([eigennet.Input(shape=(6, 2)), conv])
        model.compile(optimizer="sgd", loss="mse")
        kernel, bias = rng.normal(size=(3, 2, 2)), rng.normal(size=2)
        model.set_weights([kernel, bias])
        x, y = rng.normal(size=(4, 6, 2)), rng.normal(size=(4, 4, 2))
        out, _ = ref.forward(x, kernel, bias, (1,), "valid", (1,))
        expected = (
            np.mean((out - y) ** 2)
            + 0.1 * np.sum(kernel**2)
            + 0.2 * np.sum(np.abs(bias))
            + 0.05 * np.sum(out**2) / 4
        )
        loss, _ = model._compute_gradients(x, y)
        np.testing.assert_allclose(loss, expected, rtol=1e-10)
        assert_gradients_match_finite_differences(model, x, y)


def test_results_do_not_depend_on_thread_count():
    rng = np.random.default_rng(6)
    model = eigennet.Sequential(
        [
            eigennet.Input(shape=(16, 16, 3)),
            layers.Conv2D(16, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(32, 3, strides=2, padding="same", activation="relu"),
            layers.GlobalAveragePooling2D(),
            layers.Dense(3),
        ]
    )
    model.compile(optimizer="sgd", loss="mse")
    x, y = rng.random((64, 16, 16, 3)).astype(np.float32), rng.normal(size=(64, 3))
    before = eigennet.config.get_num_threads()
    results = []
    try:
        for threads in (1, 2):
            eigennet.config.set_num_threads(threads)
            results.append((model.predict(x, verbose=0), model._compute_gradients(x, y)))
    finally:
        eigennet.config.set_num_threads(before)
    (p1, (l1, g1)), (p2, (l2, g2)) = results
    np.testing.assert_allclose(p1, p2, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(l1, l2, rtol=1e-5)
    for a, b in zip(g1, g2, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


# ------------------------------------------------------------------ shapes and config
@pytest.mark.parametrize(
    "cls,kwargs,input_shape,output_shape,params",
    [
        (layers.Conv2D, dict(filters=32, kernel_size=3), (28, 28, 1), (26, 26, 32), 320),
        (
            layers.Conv2D,
            dict(filters=8, kernel_size=5, strides=2, padding="same"),
            (9, 10, 4),
            (5, 5, 8),
            808,
        ),
        (
            layers.Conv2D,
            dict(filters=4, kernel_size=3, dilation_rate=2, use_bias=False),
            (10, 10, 2),
            (6, 6, 4),
            72,
        ),
        (
            layers.Conv1D,
            dict(filters=6, kernel_size=4, padding="causal", strides=3),
            (10, 5),
            (4, 6),
            126,
        ),
        (layers.Conv1D, dict(filters=2, kernel_size=2), (7, 3), (6, 2), 14),
    ],
)
def test_output_shapes_and_param_counts(cls, kwargs, input_shape, output_shape, params):
    model = eigennet.Sequential([eigennet.Input(shape=input_shape), cls(**kwargs)])
    assert model.output_shape == (None, *output_shape)
    assert model.count_params() == params
    assert model.layers[0].compute_output_shape((5, *input_shape)) == (5, *output_shape)


def test_config_round_trip():
    layer = layers.Conv2D(
        4,
        (3, 2),
        strides=(2, 1),
        padding="SAME",
        activation="relu",
        use_bias=False,
        kernel_initializer="he_normal",
        kernel_regularizer=eigennet.regularizers.L2(0.01),
        name="c",
    )
    config = layer.get_config()
    assert config["kernel_size"] == (3, 2) and config["strides"] == (2, 1)
    assert config["padding"] == "same" and config["dilation_rate"] == (1, 1)
    assert config["data_format"] == "channels_last" and config["groups"] == 1
    assert config["activation"] == "relu" and config["use_bias"] is False
    regularizer = config["kernel_regularizer"]  # Keras's serialized form
    assert regularizer["class_name"] == "L2" and regularizer["config"] == {"l2": 0.01}
    clone = layers.Conv2D.from_config(config)
    assert clone.get_config() == config
    clone.build((None, 6, 6, 2))
    assert clone.kernel.shape == (3, 2, 2, 4) and clone.bias is None


def test_initializers_use_keras_fans():
    eigennet.utils.set_random_seed(0)
    layer = layers.Conv2D(64, 3, kernel_initializer="he_uniform", bias_initializer="ones")
    layer.build((None, 9, 9, 16))
    kernel = layer.kernel.numpy()
    limit = np.sqrt(6 / (3 * 3 * 16))  # fan_in = receptive field * input channels
    assert kernel.min() >= -limit and kernel.max() <= limit and kernel.max() > 0.9 * limit
    np.testing.assert_array_equal(layer.bias.numpy(), 1)


# ------------------------------------------------------------------ bad arguments and input
@pytest.mark.parametrize(
    "cls,kwargs,match",
    [
        (layers.Conv2D, dict(filters=0, kernel_size=3), "filters"),
        (layers.Conv2D, dict(filters=2.5, kernel_size=3), "filters"),
        (layers.Conv2D, dict(filters=2, kernel_size=(3,)), "kernel_size"),
        (layers.Conv2D, dict(filters=2, kernel_size=0), "kernel_size"),
        (layers.Conv2D, dict(filters=2, kernel_size=3, strides=(1, 0)), "strides"),
        (layers.Conv2D, dict(filters=2, kernel_size=3, dilation_rate=-1), "dilation_rate"),
        (layers.Conv2D, dict(filters=2, kernel_size=3, padding="causal"), "padding"),
        (layers.Conv1D, dict(filters=2, kernel_size=3, padding="full"), "padding"),
        (
            layers.Conv2D,
            dict(filters=2, kernel_size=3, data_format="channels_first"),
            "channels_last",
        ),
        (layers.Conv2D, dict(filters=2, kernel_size=3, groups=2), "groups"),
        (layers.Conv1D, dict(filters=2, kernel_size=3, strides=2, dilation_rate=2), "dilation"),
        (layers.Conv2D, dict(filters=2, kernel_size=3, activation="nope"), "activation"),
        (layers.Conv2D, dict(filters=2, kernel_size=3, kernel_constraint="nope"), "Constraint"),
    ],
)
def test_bad_arguments_raise_value_error(cls, kwargs, match):
    with pytest.raises(ValueError, match=match) as info:
        cls(**kwargs)
    assert cls.__name__ in str(info.value) or match in ("activation", "Constraint")


def test_wrong_input_rank_names_layer_and_expected_shape():
    model = eigennet.Sequential([layers.Conv2D(2, 3, name="my_conv")])
    model.compile(optimizer="sgd", loss="mse")
    expected = r"'my_conv'.*\(batch, rows, cols, channels\).*x\[\.\.\., None\]"
    with pytest.raises(ValueError, match=expected):
        model.fit(np.zeros((4, 8, 8)), np.zeros((4, 6, 6, 2)), verbose=0)
    with pytest.raises(ValueError, match=r"'c1d'.*\(batch, steps, channels\)"):
        eigennet.Sequential([eigennet.Input(shape=(8, 8, 1)), layers.Conv1D(2, 3, name="c1d")])


def test_input_smaller_than_kernel_names_layer():
    with pytest.raises(ValueError, match=r"'small'.*\(None, 2, 5, 1\).*kernel_size \(3, 3\)"):
        eigennet.Sequential([eigennet.Input(shape=(2, 5, 1)), layers.Conv2D(1, 3, name="small")])
    with pytest.raises(ValueError, match=r"dilation_rate \(3,\)"):
        eigennet.Sequential([eigennet.Input(shape=(6, 1)), layers.Conv1D(1, 3, dilation_rate=3)])
    # "same" always fits
    same = layers.Conv2D(1, 5, padding="same")
    model = eigennet.Sequential([eigennet.Input(shape=(2, 2, 1)), same])
    assert model.output_shape == (None, 2, 2, 1)


def test_wrong_sample_shape_after_build():
    model = eigennet.Sequential([eigennet.Input(shape=(8, 8, 1)), layers.Conv2D(2, 3)])
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match=r"\(None, 8, 8, 1\)"):
        model.predict(np.zeros((2, 8, 9, 1)), verbose=0)
    with pytest.raises(ValueError, match=r"\(None, 8, 8, 1\)"):
        model.fit(np.zeros((2, 8, 8, 2)), np.zeros((2, 6, 6, 2)), verbose=0)
