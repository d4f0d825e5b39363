"""Conv1DTranspose/Conv2DTranspose (native), DepthwiseConv1D/2D and SeparableConv1D/2D
(traced from keras.ops): NumPy references, float64 finite differences, Keras 3 parity on the
same weights (torch backend; skipped without keras), saving and bad arguments."""

from __future__ import annotations

import contextlib
import os

import numpy as np
import pytest

import eigennet
from eigennet import layers
from gradient_check import assert_gradients_match_finite_differences, layer_vjp
from reference import conv_transpose as ref

os.environ.setdefault("KERAS_BACKEND", "torch")


@contextlib.contextmanager
def floatx(name):
    old = eigennet.config.floatx()
    eigennet.config.set_floatx(name)
    try:
        yield
    finally:
        eigennet.config.set_floatx(old)


def _tuple(v, rank):
    return (v,) * rank if isinstance(v, int) else tuple(v)


# (rank, kwargs, sample shape)
TRANSPOSE_CASES = [
    (2, dict(filters=3, kernel_size=3), (4, 5, 2)),
    (2, dict(filters=3, kernel_size=3, strides=2), (4, 5, 2)),
    (2, dict(filters=2, kernel_size=3, strides=2, padding="same"), (4, 5, 3)),
    (2, dict(filters=2, kernel_size=2, strides=2, padding="same"), (3, 4, 2)),
    (2, dict(filters=2, kernel_size=4, strides=(2, 3), padding="same"), (3, 4, 2)),
    (2, dict(filters=2, kernel_size=(3, 2), strides=(3, 2), output_padding=(1, 1)), (3, 3, 2)),
    (2, dict(filters=2, kernel_size=3, strides=2, padding="same", output_padding=1), (3, 4, 2)),
    (2, dict(filters=2, kernel_size=5, strides=3, padding="same", output_padding=2), (3, 3, 1)),
    (2, dict(filters=2, kernel_size=2, strides=3), (3, 3, 2)),
    (2, dict(filters=2, kernel_size=3, dilation_rate=2, padding="same"), (4, 5, 2)),
    (2, dict(filters=2, kernel_size=(2, 3), dilation_rate=(2, 1)), (4, 5, 2)),
    (2, dict(filters=4, kernel_size=1, use_bias=False), (3, 3, 3)),
    (1, dict(filters=3, kernel_size=3), (6, 2)),
    (1, dict(filters=3, kernel_size=4, strides=2, padding="same"), (6, 2)),
    (1, dict(filters=2, kernel_size=3, strides=3, padding="same", output_padding=1), (5, 2)),
    (1, dict(filters=2, kernel_size=3, strides=2, output_padding=1), (5, 2)),
    (1, dict(filters=2, kernel_size=2, dilation_rate=3, padding="same"), (7, 1)),
]


def _case_id(case):
    rank, kwargs, shape = case
    return f"{rank}d-" + "-".join(f"{k}={v}" for k, v in kwargs.items())


def _transpose_layer(rank, kwargs, **extra):
    cls = layers.Conv2DTranspose if rank == 2 else layers.Conv1DTranspose
    return cls(**{**kwargs, **extra})


def _ref_args(rank, kwargs):
    op = kwargs.get("output_padding")
    return dict(
        strides=_tuple(kwargs.get("strides", 1), rank),
        padding=kwargs.get("padding", "valid"),
        output_padding=None if op is None else _tuple(op, rank),
        dilation=_tuple(kwargs.get("dilation_rate", 1), rank),
    )


# ------------------------------------------------------------------ NumPy reference
@pytest.mark.parametrize("case", TRANSPOSE_CASES, ids=_case_id)
def test_transpose_forward_and_backward_match_reference(case):
    rank, kwargs, shape = case
    rng = np.random.default_rng(0)
    layer = _transpose_layer(rank, kwargs, dtype="float64")
    layer.build((None, *shape))
    weights = [rng.normal(size=w.shape) for w in layer.get_weights()]
    layer.set_weights(weights)
    x = rng.normal(size=(3, *shape))
    bias = weights[1] if len(weights) > 1 else None
    expected = ref.forward(x, weights[0], bias, **_ref_args(rank, kwargs))
    assert layer.output_shape == (None, *expected.shape[1:])
    dy = rng.normal(size=expected.shape)
    y, param_grad, (dx,) = layer_vjp(layer, [x], dy)
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12)
    dk, db, dx_ref = ref.backward(x, weights[0], dy, **_ref_args(rank, kwargs))
    expected_params = np.concatenate([dk.ravel()] + ([db] if bias is not None else []))
    np.testing.assert_allclose(param_grad, expected_params, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(dx, dx_ref, rtol=1e-10, atol=1e-10)
    # the layer called eagerly on arrays goes through the same core
    np.testing.assert_allclose(layer(x), expected, rtol=1e-12, atol=1e-12)


def test_transpose_large_batch_chunks_and_float32():
    """A batch of many chunks (the column matrix of one chunk fits the cache) gives the
    same values as the reference, in float32 too."""
    rng = np.random.default_rng(1)
    layer = layers.Conv2DTranspose(8, 3, strides=2, padding="same", activation="relu")
    layer.build((None, 12, 12, 16))
    weights = [rng.normal(size=w.shape).astype(np.float32) for w in layer.get_weights()]
    layer.set_weights(weights)
    x = rng.normal(size=(70, 12, 12, 16)).astype(np.float32)
    expected = np.maximum(
        ref.forward(
            x[:5].astype(np.float64),
            weights[0].astype(np.float64),
            weights[1],
            (2, 2),
            "same",
        ),
        0,
    )
    got = np.asarray(layer(x))
    assert got.shape == (70, 24, 24, 8)
    np.testing.assert_allclose(got[:5], expected, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(np.asarray(layer(x[60:])), got[60:], rtol=1e-6, atol=1e-6)


# ------------------------------------------------------------------ finite differences
def test_finite_differences_conv_autoencoder_2d():
    rng = np.random.default_rng(3)
    with floatx("float64"):
        model = eigennet.Sequential(
            [
                eigennet.Input(shape=(6, 5, 2)),
                layers.Conv2D(3, 3, strides=2, padding="same", activation="tanh"),
                layers.Conv2DTranspose(2, 3, strides=2, padding="same", activation="sigmoid"),
                layers.Conv2DTranspose(2, (2, 3), strides=(2, 1), output_padding=(1, 0)),
                layers.Conv2DTranspose(1, 2, dilation_rate=2, padding="same", use_bias=False),
                layers.Flatten(),
                layers.Dense(2),
            ]
        )
        model.compile(optimizer="sgd", loss="mse")
        assert_gradients_match_finite_differences(
            model, rng.normal(size=(3, 6, 5, 2)), rng.normal(size=(3, 2))
        )


def test_finite_differences_transpose_1d():
    rng = np.random.default_rng(4)
    with floatx("float64"):
        model = eigennet.Sequential(
            [
                eigennet.Input(shape=(5, 2)),
                layers.Conv1DTranspose(3, 3, strides=2, padding="same", activation="relu"),
                layers.Conv1DTranspose(2, 4, strides=3, output_padding=2, activation="tanh"),
                layers.GlobalAveragePooling1D(),
                layers.Dense(2),
            ]
        )
        model.compile(optimizer="sgd", loss="mse")
        assert_gradients_match_finite_differences(
            model, rng.normal(size=(4, 5, 2)), rng.normal(size=(4, 2))
        )


def test_finite_differences_depthwise_and_separable():
    rng = np.random.default_rng(5)
    with floatx("float64"):
        inputs = eigennet.Input(shape=(6, 6, 2))
        x = layers.DepthwiseConv2D(3, depth_multiplier=2, padding="same", activation="tanh")(inputs)
        x = layers.SeparableConv2D(3, (2, 3), strides=2, depth_multiplier=2)(x)
        x = layers.Flatten()(x)
        outputs = layers.Dense(2)(x)
        model = eigennet.Model(inputs, outputs)
        model.compile(optimizer="sgd", loss="mse")
        assert_gradients_match_finite_differences(
            model, rng.normal(size=(3, 6, 6, 2)), rng.normal(size=(3, 2))
        )


def test_finite_differences_depthwise_and_separable_1d():
    rng = np.random.default_rng(6)
    with floatx("float64"):
        model = eigennet.Sequential(
            [
                eigennet.Input(shape=(8, 3)),
                layers.DepthwiseConv1D(3, strides=2, padding="same", activation="relu"),
                layers.SeparableConv1D(2, 2, dilation_rate=2, activation="sigmoid"),
                layers.Flatten(),
                layers.Dense(1),
            ]
        )
        model.compile(optimizer="sgd", loss="mse")
        assert_gradients_match_finite_differences(
            model, rng.normal(size=(3, 8, 3)), rng.normal(size=(3, 1))
        )


# ------------------------------------------------------------------ reference: depthwise
def _depthwise_ref(x, k, strides, padding):
    """A depthwise conv as one conv per channel, by the Conv2D reference."""
    from reference import conv as conv_ref

    outs = []
    for c in range(x.shape[-1]):
        outs.append(conv_ref.forward(x[..., c : c + 1], k[..., c : c + 1, :], None, strides,
                                     padding, (1, 1))[0])  # fmt: skip
    return np.concatenate(outs, axis=-1)


def test_depthwise_and_separable_forward_match_reference():
    rng = np.random.default_rng(7)
    with floatx("float64"):
        dw = layers.DepthwiseConv2D(3, strides=2, padding="same", depth_multiplier=2)
        sep = layers.SeparableConv2D(4, 3, strides=2, padding="same", depth_multiplier=2)
        x = rng.normal(size=(2, 7, 6, 3))
        dw.build(x.shape)
        sep.build(x.shape)
        for layer in (dw, sep):
            layer.set_weights([rng.normal(size=w.shape) for w in layer.get_weights()])
        kd, bd = dw.get_weights()
        expected = _depthwise_ref(x, kd, (2, 2), "same") + bd
        np.testing.assert_allclose(np.asarray(dw(x)), expected, rtol=1e-10, atol=1e-10)
        ks, kp, bs = sep.get_weights()
        mid = _depthwise_ref(x, ks, (2, 2), "same")
        expected = mid @ kp[0, 0] + bs
        np.testing.assert_allclose(np.asarray(sep(x)), expected, rtol=1e-10, atol=1e-10)
        model = eigennet.Sequential([eigennet.Input(shape=(7, 6, 3)), sep])
        np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-10, atol=1e-10)


# ------------------------------------------------------------------ shapes, config, saving
@pytest.mark.parametrize(
    "layer, input_shape, output_shape, params",
    [
        (lambda: layers.Conv2DTranspose(16, 3, strides=2, padding="same"), (7, 7, 8),
         (14, 14, 16), 3 * 3 * 16 * 8 + 16),
        (lambda: layers.Conv2DTranspose(4, 3), (5, 5, 2), (7, 7, 4), 3 * 3 * 4 * 2 + 4),
        (lambda: layers.Conv1DTranspose(4, 5, strides=2), (10, 3), (23, 4), 5 * 4 * 3 + 4),
        (lambda: layers.DepthwiseConv2D(3, depth_multiplier=2), (8, 8, 3), (6, 6, 6),
         3 * 3 * 3 * 2 + 6),
        (lambda: layers.SeparableConv2D(5, 3, padding="same"), (8, 8, 3), (8, 8, 5),
         27 + 15 + 5),
        (lambda: layers.SeparableConv1D(5, 3, use_bias=False), (8, 3), (6, 5), 9 + 15),
    ],
)  # fmt: skip
def test_output_shapes_and_param_counts(layer, input_shape, output_shape, params):
    model = eigennet.Sequential([eigennet.Input(shape=input_shape), layer()])
    assert model.output_shape == (None, *output_shape)
    assert model.count_params() == params


@pytest.mark.parametrize(
    "make",
    [
        lambda: layers.Conv2DTranspose(3, 3, strides=2, padding="same", output_padding=1,
                                       activation="relu", kernel_regularizer="l2"),
        lambda: layers.Conv1DTranspose(2, 4, strides=2, dilation_rate=1, use_bias=False),
        lambda: layers.DepthwiseConv2D(3, depth_multiplier=2, activation="tanh"),
        lambda: layers.SeparableConv2D(4, 3, padding="same", pointwise_regularizer="l1"),
        lambda: layers.DepthwiseConv1D(3),
        lambda: layers.SeparableConv1D(4, 2, strides=2),
    ],
)  # fmt: skip
def test_config_round_trip_and_save_load(make, tmp_path):
    layer = make()
    rank = 1 if "1D" in type(layer).__name__ else 2
    shape = (8, 3) if rank == 1 else (6, 6, 3)
    clone = type(layer).from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    model = eigennet.Sequential([eigennet.Input(shape=shape), layer, layers.Flatten(),
                                 layers.Dense(1)])  # fmt: skip
    model.compile(optimizer="adam", loss="mse")
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, *shape)).astype("float32"), rng.normal(size=(16, 1))
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = eigennet.models.load_model(tmp_path / "m.keras")
    assert type(loaded.layers[0]) is type(layer)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    for a, b in zip(loaded.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------ bad arguments and inputs
@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: layers.Conv2DTranspose(0, 3), "filters"),
        (lambda: layers.Conv2DTranspose(2, 0), "kernel_size"),
        (lambda: layers.Conv2DTranspose(2, 3, strides=2, output_padding=2), "output_padding"),
        (lambda: layers.Conv2DTranspose(2, 3, output_padding=1), "output_padding"),
        (lambda: layers.Conv2DTranspose(2, 3, padding="causal"), "padding"),
        (lambda: layers.Conv1DTranspose(2, 3, strides=2, dilation_rate=2), "dilation_rate"),
        (lambda: layers.Conv2DTranspose(2, 3, data_format="channels_first"), "data_format"),
        (lambda: layers.DepthwiseConv2D(3, depth_multiplier=0), "depth_multiplier"),
        (lambda: layers.DepthwiseConv2D((3, 3, 3)), "kernel_size"),
        (lambda: layers.SeparableConv2D(0, 3), "filters"),
        (lambda: layers.SeparableConv1D(2, 3, padding="full"), "padding"),
    ],
)
def test_bad_arguments_raise_value_error(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize(
    "make, shape",
    [
        (lambda: layers.Conv2DTranspose(2, 3), (None, 5, 2)),
        (lambda: layers.Conv1DTranspose(2, 3), (None, 5, 5, 2)),
        (lambda: layers.DepthwiseConv2D(3), (None, 5, 2)),
        (lambda: layers.SeparableConv1D(2, 3), (None, 5, 5, 2)),
    ],
)
def test_wrong_input_rank_raises_value_error(make, shape):
    with pytest.raises(ValueError):
        eigennet.Sequential([eigennet.Input(shape=shape[1:]), make()])


def test_depthwise_input_smaller_than_kernel_raises():
    with pytest.raises(ValueError):
        eigennet.Sequential([eigennet.Input(shape=(2, 2, 1)), layers.DepthwiseConv2D(3)])


# ------------------------------------------------------------------ Keras 3 parity
@pytest.fixture
def keras():
    pytest.importorskip("torch")
    module = pytest.importorskip("keras")
    module.utils.set_random_seed(5)
    return module


KERAS_CASES = [
    ("Conv2DTranspose" if rank == 2 else "Conv1DTranspose", kwargs, shape)
    for rank, kwargs, shape in TRANSPOSE_CASES
] + [
    ("Conv2DTranspose", dict(filters=3, kernel_size=3, strides=2, activation="relu"), (4, 4, 2)),
    ("DepthwiseConv2D", dict(kernel_size=3), (6, 7, 2)),
    (
        "DepthwiseConv2D",
        dict(kernel_size=3, strides=2, padding="same", depth_multiplier=3),
        (7, 6, 2),
    ),  # fmt: skip
    ("DepthwiseConv2D", dict(kernel_size=(2, 3), dilation_rate=2, activation="relu"), (7, 8, 3)),
    (
        "DepthwiseConv1D",
        dict(kernel_size=3, strides=2, padding="same", depth_multiplier=2),
        (9, 2),
    ),  # fmt: skip
    ("SeparableConv2D", dict(filters=4, kernel_size=3), (6, 7, 2)),
    (
        "SeparableConv2D",
        dict(
            filters=3,
            kernel_size=3,
            strides=2,
            padding="same",
            depth_multiplier=2,
            activation="tanh",
        ),
        (7, 6, 3),
    ),  # fmt: skip
    (
        "SeparableConv2D",
        dict(filters=2, kernel_size=2, dilation_rate=2, use_bias=False),
        (6, 6, 2),
    ),  # fmt: skip
    (
        "SeparableConv1D",
        dict(filters=3, kernel_size=3, padding="same", depth_multiplier=2),
        (9, 2),
    ),  # fmt: skip
]


def _keras_id(case):
    name, kwargs, _ = case
    return name + "-" + "-".join(f"{k}={v}" for k, v in kwargs.items())


@pytest.mark.parametrize("case", KERAS_CASES, ids=_keras_id)
def test_predict_shapes_weights_and_config_match_keras(keras, case):
    name, kwargs, shape = case
    k_model = keras.Sequential([keras.Input(shape=shape), getattr(keras.layers, name)(**kwargs)])
    e_model = eigennet.Sequential(
        [eigennet.Input(shape=shape), getattr(eigennet.layers, name)(**kwargs)]
    )
    k_layer, e_layer = k_model.layers[0], e_model.layers[0]
    assert [w.shape for w in e_layer.weights] == [tuple(w.shape) for w in k_layer.weights]
    assert [w.name for w in e_layer.weights] == [w.name for w in k_layer.weights]
    rng = np.random.default_rng(0)
    # random biases too (Keras initializes them to zero)
    k_model.set_weights([rng.normal(size=w.shape).astype("float32") for w in k_model.weights])
    e_model.set_weights([np.array(w) for w in k_model.get_weights()])
    assert e_model.output_shape == k_model.output_shape
    assert e_model.count_params() == k_model.count_params()
    assert set(e_layer.get_config()) == set(k_layer.get_config())
    x = rng.normal(size=(5, *shape)).astype(np.float32)
    np.testing.assert_allclose(
        e_model.predict(x, verbose=0), k_model.predict(x, verbose=0), rtol=1e-4, atol=1e-4
    )


def _autoencoder(lib):
    L = lib.layers
    return lib.Sequential(
        [
            lib.Input(shape=(8, 8, 1)),
            L.Conv2D(4, 3, strides=2, padding="same", activation="relu"),
            L.SeparableConv2D(6, 3, padding="same", activation="relu"),
            L.Conv2DTranspose(4, 3, strides=2, padding="same", activation="relu"),
            L.DepthwiseConv2D(3, padding="same"),
            L.Conv2DTranspose(1, 3, padding="same", activation="sigmoid"),
        ]
    )


def test_conv_autoencoder_trains_like_keras(keras):
    from keras_parity import assert_trains_like_keras

    rng = np.random.default_rng(2)
    x = rng.uniform(size=(32, 8, 8, 1)).astype("float32")
    theirs, ours = _autoencoder(keras), _autoencoder(eigennet)
    ours.set_weights([np.array(w) for w in theirs.get_weights()])
    theirs.compile(optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy")
    ours.compile(optimizer=eigennet.optimizers.Adam(0.01), loss="binary_crossentropy")
    assert_trains_like_keras(ours, theirs, x, x, epochs=3, batch_size=8)


def test_conv1d_transpose_model_trains_like_keras(keras):
    from keras_parity import assert_trains_like_keras

    def build(lib):
        L = lib.layers
        return lib.Sequential(
            [
                lib.Input(shape=(10, 2)),
                L.Conv1D(4, 3, strides=2, padding="same", activation="tanh"),
                L.Conv1DTranspose(3, 4, strides=2, padding="same", activation="relu"),
                L.DepthwiseConv1D(3, depth_multiplier=2),
                L.SeparableConv1D(2, 3, padding="same"),
                L.GlobalAveragePooling1D(),
                L.Dense(2),
            ]
        )

    rng = np.random.default_rng(3)
    x = rng.normal(size=(24, 10, 2)).astype("float32")
    y = rng.normal(size=(24, 2)).astype("float32")
    theirs, ours = build(keras), build(eigennet)
    ours.set_weights([np.array(w) for w in theirs.get_weights()])
    theirs.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse", metrics=["mae"])
    ours.compile(optimizer=eigennet.optimizers.SGD(0.05), loss="mse", metrics=["mae"])
    assert_trains_like_keras(ours, theirs, x, y, epochs=3, batch_size=8)


def test_transpose_results_do_not_depend_on_thread_count():
    """Threads take whole groups of chunks; the kernel gradient is summed per group in a fixed
    order, so 1, 2 and 3 threads give the same bits."""
    rng = np.random.default_rng(8)
    layer = layers.Conv2DTranspose(16, 3, strides=2, padding="same", activation="relu")
    layer.build((None, 10, 10, 16))
    layer.set_weights([rng.normal(size=w.shape).astype("float32") for w in layer.get_weights()])
    x = rng.normal(size=(96, 10, 10, 16)).astype("float32")
    dy = rng.normal(size=(96, 20, 20, 16)).astype("float32")
    before = eigennet.config.get_num_threads()
    results = []
    try:
        for threads in (1, 2, 3):
            eigennet.config.set_num_threads(threads)
            results.append(layer_vjp(layer, [x], dy, "float32"))
    finally:
        eigennet.config.set_num_threads(before)
    for other in results[1:]:
        for a, b in zip((results[0][0], results[0][1], results[0][2][0]),
                        (other[0], other[1], other[2][0])):  # fmt: skip
            np.testing.assert_array_equal(a, b)
    expected = np.maximum(
        ref.forward(x[:2].astype(np.float64), *[w.astype(np.float64) for w in
                    layer.get_weights()], (2, 2), "same"), 0)  # fmt: skip
    np.testing.assert_allclose(results[0][0][:2], expected, rtol=1e-4, atol=1e-4)


# ------------------------------------------------------------------ TimeDistributed
def test_time_distributed_finite_differences_and_shared_weights():
    rng = np.random.default_rng(9)
    with floatx("float64"):
        dense = layers.Dense(3, activation="tanh")
        model = eigennet.Sequential(
            [
                eigennet.Input(shape=(4, 5, 5, 1)),
                layers.TimeDistributed(layers.Conv2D(2, 3, strides=2, activation="relu")),
                layers.TimeDistributed(layers.Flatten()),
                layers.TimeDistributed(dense),
                layers.Flatten(),
                layers.Dense(2),
            ]
        )
        model.compile(optimizer="sgd", loss="mse")
        x, y = rng.normal(size=(3, 4, 5, 5, 1)), rng.normal(size=(3, 2))
        assert_gradients_match_finite_differences(model, x, y)
        td = model.layers[2]
        assert td.layer is dense and len(td.weights) == 2
        model.fit(x, y, epochs=2, batch_size=2, verbose=0)
        for a, b in zip(td.get_weights(), dense.get_weights(), strict=True):
            np.testing.assert_array_equal(a, b)
        # the inner layer applied step by step gives the wrapper's output
        steps = rng.normal(size=(2, 4, 8))
        expected = np.stack([np.asarray(dense(steps[:, t])) for t in range(4)], axis=1)
        np.testing.assert_allclose(np.asarray(td(steps)), expected, rtol=1e-12)


def test_time_distributed_save_load_and_errors(tmp_path):
    model = eigennet.Sequential(
        [eigennet.Input(shape=(3, 6)), layers.TimeDistributed(layers.Dense(2, name="inner"))]
    )
    assert model.output_shape == (None, 3, 2)
    x = np.random.default_rng(0).normal(size=(4, 3, 6)).astype("float32")
    model.save(tmp_path / "td.keras")
    loaded = eigennet.models.load_model(tmp_path / "td.keras")
    assert type(loaded.layers[0].layer) is layers.Dense
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    with pytest.raises(ValueError):
        layers.TimeDistributed("dense")
    with pytest.raises(ValueError):
        eigennet.Sequential([eigennet.Input(shape=(6,)), layers.TimeDistributed(layers.Dense(2))])
    with pytest.raises(ValueError):
        layers.TimeDistributed(layers.DepthwiseConv2D(3))


def test_time_distributed_trains_like_keras(keras):
    from keras_parity import assert_trains_like_keras

    def build(lib):
        L = lib.layers
        return lib.Sequential(
            [
                lib.Input(shape=(5, 6, 6, 1)),
                L.TimeDistributed(L.Conv2D(3, 3, activation="relu")),
                L.TimeDistributed(L.Flatten()),
                L.TimeDistributed(L.Dense(4, activation="tanh")),
                L.GlobalAveragePooling1D(),
                L.Dense(2),
            ]
        )

    rng = np.random.default_rng(4)
    x = rng.normal(size=(16, 5, 6, 6, 1)).astype("float32")
    y = rng.normal(size=(16, 2)).astype("float32")
    theirs, ours = build(keras), build(eigennet)
    assert [w.shape for w in ours.weights] == [tuple(w.shape) for w in theirs.weights]
    ours.set_weights([np.array(w) for w in theirs.get_weights()])
    theirs.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    ours.compile(optimizer=eigennet.optimizers.Adam(0.01), loss="mse")
    assert_trains_like_keras(ours, theirs, x, y, epochs=3, batch_size=8)


# ------------------------------------------------------------------ GroupNormalization
def _group_norm_ref(x, groups, gamma, beta, epsilon, axis=-1):
    x = np.moveaxis(x, axis, -1)
    c = x.shape[-1]
    g = x.reshape(*x.shape[:-1], groups, c // groups)
    axes = tuple(range(1, g.ndim - 2)) + (g.ndim - 1,)
    mean, var = g.mean(axis=axes, keepdims=True), g.var(axis=axes, keepdims=True)
    y = ((g - mean) / np.sqrt(var + epsilon)).reshape(x.shape)
    if gamma is not None:
        y = y * gamma
    if beta is not None:
        y = y + beta
    return np.moveaxis(y, -1, axis)


@pytest.mark.parametrize(
    "kwargs, shape",
    [
        (dict(groups=2), (5, 6, 4)),
        (dict(groups=-1, epsilon=1e-5), (7, 3)),
        (dict(groups=3, axis=1, center=False), (6, 4)),
        (dict(groups=1, scale=False), (8,)),
    ],
)
def test_group_normalization_matches_reference_and_gradients(kwargs, shape):
    rng = np.random.default_rng(10)
    with floatx("float64"):
        layer = layers.GroupNormalization(**kwargs)
        model = eigennet.Sequential(
            [eigennet.Input(shape=shape), layer, layers.Flatten(), layers.Dense(2)]
        )
        layer.set_weights([rng.normal(size=w.shape) for w in layer.get_weights()])
        x = rng.normal(size=(3, *shape)) * 2 + 1
        gamma = layer.gamma.numpy() if layer.scale else None
        beta = layer.beta.numpy() if layer.center else None
        expected = _group_norm_ref(
            x, layer.groups, gamma, beta, layer.epsilon, kwargs.get("axis", -1)
        )
        np.testing.assert_allclose(np.asarray(layer(x)), expected, rtol=1e-10, atol=1e-10)
        model.compile(optimizer="sgd", loss="mse")
        assert_gradients_match_finite_differences(model, x, rng.normal(size=(3, 2)))


def test_group_normalization_save_load_and_errors(tmp_path):
    model = eigennet.Sequential(
        [eigennet.Input(shape=(4, 4, 6)), layers.GroupNormalization(groups=3, epsilon=1e-4)]
    )
    x = np.random.default_rng(0).normal(size=(2, 4, 4, 6)).astype("float32")
    model.save(tmp_path / "g.keras")
    loaded = eigennet.models.load_model(tmp_path / "g.keras")
    assert loaded.layers[0].get_config() == model.layers[0].get_config()
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    with pytest.raises(ValueError, match="groups"):
        layers.GroupNormalization(groups=0)
    with pytest.raises(ValueError, match="multiple"):
        eigennet.Sequential([eigennet.Input(shape=(5,)), layers.GroupNormalization(groups=2)])
    with pytest.raises(ValueError, match="more than"):
        eigennet.Sequential([eigennet.Input(shape=(3,)), layers.GroupNormalization(groups=4)])


def test_group_normalization_trains_like_keras(keras):
    from keras_parity import assert_trains_like_keras

    def build(lib):
        L = lib.layers
        return lib.Sequential(
            [
                lib.Input(shape=(6, 6, 2)),
                L.Conv2D(8, 3, padding="same"),
                L.GroupNormalization(groups=4),
                L.Activation("relu"),
                L.Conv2DTranspose(4, 3, strides=2, padding="same"),
                L.GroupNormalization(groups=2, center=False),
                L.GlobalAveragePooling2D(),
                L.Dense(2),
            ]
        )

    rng = np.random.default_rng(5)
    x = rng.normal(size=(16, 6, 6, 2)).astype("float32")
    y = rng.normal(size=(16, 2)).astype("float32")
    theirs, ours = build(keras), build(eigennet)
    assert set(ours.layers[1].get_config()) == set(theirs.layers[1].get_config())
    ours.set_weights([np.array(w) for w in theirs.get_weights()])
    theirs.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    ours.compile(optimizer=eigennet.optimizers.Adam(0.01), loss="mse")
    assert_trains_like_keras(ours, theirs, x, y, epochs=3, batch_size=8)


def test_variable_length_steps():
    """A `None` step axis: Conv1DTranspose and TimeDistributed get copies per length."""
    model = eigennet.Sequential(
        [
            eigennet.Input(shape=(None, 2)),
            layers.Conv1DTranspose(3, 3, strides=2, padding="same"),
            layers.TimeDistributed(layers.Dense(2)),
        ]
    )
    assert model.output_shape == (None, None, 2)
    x = np.random.default_rng(0).normal(size=(2, 9, 2)).astype("float32")
    assert model.predict(x[:, :5], verbose=0).shape == (2, 10, 2)
    np.testing.assert_allclose(
        model.predict(x, verbose=0)[:, :4], model.predict(x[:, :5], verbose=0)[:, :4], atol=1e-5
    )
