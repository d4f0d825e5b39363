"""Volumes: Conv3D, Conv3DTranspose, MaxPooling3D/AveragePooling3D and their global forms
(native, the 2-D kernels generalized to three spatial axes); UpSampling3D, ZeroPadding3D,
Cropping3D and AlphaDropout (traced from keras.ops).

NumPy references forward and backward, float64 finite differences, Keras 3 parity on the same
weights (torch backend; skipped without keras), variable spatial axes, saving, bad input."""

from __future__ import annotations

import os

import numpy as np
import pytest

import eigennet
from eigennet import layers
from gradient_check import assert_gradients_match_finite_differences, layer_vjp
from reference import conv_transpose as ref_transpose
from reference import volume as ref

os.environ.setdefault("KERAS_BACKEND", "torch")


def _triple(v):
    return (v,) * 3 if isinstance(v, int) else tuple(v)


def _case_id(case):
    kwargs, shape = case
    return "-".join(f"{k}={v}" for k, v in kwargs.items()) + f"-in{shape}"


# (kwargs, sample shape): strides, padding, dilation, the single-channel (taps-major) and
# 1x1x1 (direct) column layouts, uneven kernels.
CONV_CASES = [
    (dict(filters=3, kernel_size=3), (5, 6, 4, 2)),
    (dict(filters=3, kernel_size=3, padding="same"), (5, 6, 4, 2)),
    (dict(filters=2, kernel_size=(2, 3, 1), strides=2, padding="same"), (5, 6, 4, 3)),
    (dict(filters=2, kernel_size=3, strides=(1, 2, 3), padding="same"), (4, 5, 7, 2)),
    (dict(filters=2, kernel_size=2, strides=(3, 1, 2)), (7, 4, 5, 2)),
    (dict(filters=2, kernel_size=3, dilation_rate=2, padding="same"), (5, 6, 5, 2)),
    (dict(filters=2, kernel_size=(2, 2, 3), dilation_rate=(2, 1, 2)), (5, 4, 6, 2)),
    (dict(filters=4, kernel_size=3, padding="same"), (4, 5, 6, 1)),
    (dict(filters=3, kernel_size=(3, 2, 2), strides=2), (6, 5, 5, 1)),
    (dict(filters=3, kernel_size=1, use_bias=False), (3, 4, 2, 3)),
    (dict(filters=2, kernel_size=1, strides=2), (5, 4, 3, 2)),
]


def _conv_ref_args(kwargs):
    return (
        _triple(kwargs.get("strides", 1)),
        kwargs.get("padding", "valid"),
        _triple(kwargs.get("dilation_rate", 1)),
    )


# ------------------------------------------------------------------ Conv3D vs NumPy
@pytest.mark.parametrize("case", CONV_CASES, ids=_case_id)
def test_conv3d_forward_and_backward_match_reference(case):
    kwargs, shape = case
    rng = np.random.default_rng(0)
    layer = layers.Conv3D(**kwargs, dtype="float64")
    layer.build((None, *shape))
    weights = [rng.normal(size=w.shape) for w in layer.get_weights()]
    layer.set_weights(weights)
    kernel, bias = weights[0], weights[1] if len(weights) > 1 else None
    assert kernel.shape == (*_triple(kwargs["kernel_size"]), shape[-1], kwargs["filters"])
    x = rng.normal(size=(3, *shape))
    strides, padding, dilation = _conv_ref_args(kwargs)
    expected = ref.conv_forward(x, kernel, bias, strides, padding, dilation)
    assert layer.output_shape == (None, *expected.shape[1:])
    dy = rng.normal(size=expected.shape)
    y, param_grad, (dx,) = layer_vjp(layer, [x], dy)
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12)
    dk, db, dx_ref = ref.conv_backward(x, kernel, strides, padding, dilation, dy)
    expected_params = np.concatenate([dk.ravel()] + ([db] if bias is not None else []))
    np.testing.assert_allclose(param_grad, expected_params, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(dx, dx_ref, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(layer(x), expected, rtol=1e-12, atol=1e-12)


def test_conv3d_many_chunks_float32_and_activation():
    """A batch of many cache-sized chunks, threaded, in float32, with a fused relu."""
    rng = np.random.default_rng(1)
    layer = layers.Conv3D(8, 3, strides=(1, 2, 2), padding="same", activation="relu")
    layer.build((None, 8, 10, 10, 4))
    weights = [rng.normal(size=w.shape).astype(np.float32) for w in layer.get_weights()]
    layer.set_weights(weights)
    x = rng.normal(size=(40, 8, 10, 10, 4)).astype(np.float32)
    expected = np.maximum(
        ref.conv_forward(x[:3].astype(np.float64), weights[0], weights[1], (1, 2, 2), "same",
                         (1, 1, 1)), 0)  # fmt: skip
    got = np.asarray(layer(x))
    assert got.shape == (40, 8, 5, 5, 8)
    np.testing.assert_allclose(got[:3], expected, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(np.asarray(layer(x[30:])), got[30:], rtol=1e-6, atol=1e-6)


# ------------------------------------------------------------------ Conv3DTranspose vs NumPy
TRANSPOSE_CASES = [
    (dict(filters=3, kernel_size=3), (3, 4, 2, 2)),
    (dict(filters=2, kernel_size=3, strides=2, padding="same"), (3, 4, 2, 3)),
    (dict(filters=2, kernel_size=(2, 3, 2), strides=(1, 2, 3)), (3, 3, 2, 2)),
    (dict(filters=2, kernel_size=3, strides=2, output_padding=(1, 0, 1)), (2, 3, 2, 2)),
    (dict(filters=2, kernel_size=2, dilation_rate=(2, 1, 2), padding="same"), (3, 4, 3, 1)),
    (dict(filters=3, kernel_size=1, use_bias=False), (2, 3, 2, 2)),
]


@pytest.mark.parametrize("case", TRANSPOSE_CASES, ids=_case_id)
def test_conv3d_transpose_forward_and_backward_match_reference(case):
    kwargs, shape = case
    rng = np.random.default_rng(12)
    layer = layers.Conv3DTranspose(**kwargs, dtype="float64")
    layer.build((None, *shape))
    weights = [rng.normal(size=w.shape) for w in layer.get_weights()]
    layer.set_weights(weights)
    kernel, bias = weights[0], weights[1] if len(weights) > 1 else None
    assert kernel.shape == (*_triple(kwargs["kernel_size"]), kwargs["filters"], shape[-1])
    x = rng.normal(size=(3, *shape))
    op = kwargs.get("output_padding")
    args = dict(
        strides=_triple(kwargs.get("strides", 1)),
        padding=kwargs.get("padding", "valid"),
        output_padding=None if op is None else _triple(op),
        dilation=_triple(kwargs.get("dilation_rate", 1)),
    )
    expected = ref_transpose.forward(x, kernel, bias, **args)
    assert layer.output_shape == (None, *expected.shape[1:])
    dy = rng.normal(size=expected.shape)
    y, param_grad, (dx,) = layer_vjp(layer, [x], dy)
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12)
    dk, db, dx_ref = ref_transpose.backward(x, kernel, dy, **args)
    expected_params = np.concatenate([dk.ravel()] + ([db] if bias is not None else []))
    np.testing.assert_allclose(param_grad, expected_params, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(dx, dx_ref, rtol=1e-10, atol=1e-10)


# ------------------------------------------------------------------ pooling vs NumPy
# (mode, kwargs, sample shape)
POOL_CASES = [
    ("max", dict(pool_size=2), (4, 5, 6, 2)),
    ("max", dict(pool_size=3, strides=2, padding="same"), (5, 6, 4, 3)),
    ("max", dict(pool_size=(2, 1, 3), strides=1, padding="same"), (3, 4, 5, 2)),
    ("max", dict(pool_size=(1, 2, 2), strides=(1, 1, 2)), (3, 5, 6, 1)),
    ("average", dict(pool_size=2), (4, 5, 6, 2)),
    ("average", dict(pool_size=3, strides=2, padding="same"), (5, 6, 4, 3)),
    ("average", dict(pool_size=(2, 3, 2), strides=1, padding="same"), (3, 4, 5, 2)),
    ("average", dict(pool_size=(3, 1, 2), strides=(2, 1, 1)), (7, 3, 4, 2)),
]


def _pool_layer(mode, kwargs, **extra):
    cls = layers.MaxPooling3D if mode == "max" else layers.AveragePooling3D
    return cls(**kwargs, **extra)


@pytest.mark.parametrize("case", POOL_CASES, ids=lambda c: c[0] + "-" + _case_id(c[1:]))
def test_pooling3d_forward_and_backward_match_reference(case):
    mode, kwargs, shape = case
    rng = np.random.default_rng(2)
    layer = _pool_layer(mode, kwargs, dtype="float64")
    layer.build((None, *shape))
    pool = _triple(kwargs["pool_size"])
    strides = _triple(kwargs.get("strides") or pool)
    padding = kwargs.get("padding", "valid")
    # Ties (repeated values) exercise the first-maximum rule.
    x = rng.integers(-3, 4, size=(3, *shape)).astype(np.float64)
    expected = ref.pool_forward(mode, x, pool, strides, padding)
    assert layer.output_shape == (None, *expected.shape[1:])
    dy = rng.normal(size=expected.shape)
    y, _, (dx,) = layer_vjp(layer, [x], dy)
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dx, ref.pool_backward(mode, x, pool, strides, padding, dy),
                               rtol=1e-12, atol=1e-12)  # fmt: skip


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("mode", ["max", "average"])
def test_global_pooling3d_matches_reference(mode, keepdims):
    rng = np.random.default_rng(3)
    cls = layers.GlobalMaxPooling3D if mode == "max" else layers.GlobalAveragePooling3D
    layer = cls(keepdims=keepdims, dtype="float64")
    shape = (3, 4, 5, 2)
    layer.build((None, *shape))
    x = rng.normal(size=(4, *shape))
    expected = ref.pool_forward(mode, x, shape[:3], shape[:3], "valid")
    assert expected.shape == (4, 1, 1, 1, 2)
    dy = rng.normal(size=expected.shape)
    y, _, (dx,) = layer_vjp(layer, [x], dy)
    assert layer.output_shape == ((None, 1, 1, 1, 2) if keepdims else (None, 2))
    np.testing.assert_allclose(y.reshape(expected.shape), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dx, ref.pool_backward(mode, x, shape[:3], shape[:3], "valid", dy),
                               rtol=1e-12, atol=1e-12)  # fmt: skip
    np.testing.assert_allclose(np.asarray(layer(x)).reshape(expected.shape), expected)


def test_max_pooling_ignores_padding_and_propagates_nan():
    x = np.full((1, 3, 3, 3, 1), -5.0)
    x[0, 1, 1, 1, 0] = np.nan
    layer = layers.MaxPooling3D(2, padding="same", dtype="float64")
    layer.build(x.shape)
    y, _, _ = layer_vjp(layer, [x], np.ones((1, 2, 2, 2, 1)))  # the core (calls reject NaN)
    assert y.shape == (1, 2, 2, 2, 1)
    assert np.isnan(y[0, 0, 0, 0, 0])
    np.testing.assert_array_equal(y.ravel()[1:], -5.0)  # never the zeros of the padding


# ------------------------------------------------------------------ resampling layers
@pytest.mark.parametrize("channels_first", [False, True])
def test_upsampling_padding_cropping_3d_match_numpy(channels_first):
    rng = np.random.default_rng(13)
    fmt = "channels_first" if channels_first else "channels_last"
    x = rng.normal(size=(2, 3, 4, 5, 2)).astype(np.float32)
    axes = (2, 3, 4) if channels_first else (1, 2, 3)
    up = x
    for axis, factor in zip(axes, (2, 1, 3)):
        up = np.repeat(up, factor, axis=axis)
    widths = [(0, 0)] * 5
    for axis, w in zip(axes, ((1, 0), (2, 2), (0, 3))):
        widths[axis] = w
    crop = [slice(None)] * 5
    for axis, (a, b) in zip(axes, ((1, 1), (0, 2), (1, 0))):
        crop[axis] = slice(a, x.shape[axis] - b)
    cases = [
        (layers.UpSampling3D((2, 1, 3), data_format=fmt), up),
        (layers.ZeroPadding3D(((1, 0), (2, 2), (0, 3)), data_format=fmt), np.pad(x, widths)),
        (layers.Cropping3D(((1, 1), (0, 2), (1, 0)), data_format=fmt), x[tuple(crop)]),
    ]
    for layer, expected in cases:
        np.testing.assert_array_equal(np.asarray(layer(x)), expected)
        model = eigennet.Sequential([eigennet.Input(x.shape[1:]), layer])
        assert model.output_shape == (None, *expected.shape[1:])
        np.testing.assert_array_equal(model.predict(x, verbose=0), expected)


def test_padding_and_cropping_3d_argument_forms():
    assert layers.ZeroPadding3D(2).padding == ((2, 2),) * 3
    assert layers.ZeroPadding3D((1, 2, 3)).padding == ((1, 1), (2, 2), (3, 3))
    assert layers.Cropping3D().cropping == ((1, 1),) * 3
    assert layers.UpSampling3D(2).size == (2, 2, 2)
    with pytest.raises(ValueError, match="should have 3 elements"):
        layers.ZeroPadding3D((1, 2))
    with pytest.raises(ValueError, match="cannot be negative"):
        layers.Cropping3D(-1)
    with pytest.raises(ValueError, match="smaller than the corresponding"):
        layers.Cropping3D(2)(np.zeros((1, 4, 5, 5, 1)))
    with pytest.raises(ValueError, match="ndim=5"):
        layers.UpSampling3D()(np.zeros((1, 4, 4, 1)))


# ------------------------------------------------------------------ finite differences
def test_finite_differences_volume_cnn(float64):
    rng = np.random.default_rng(4)
    model = eigennet.Sequential(
        [
            eigennet.Input(shape=(5, 6, 4, 2)),
            layers.Conv3D(3, 3, padding="same", activation="tanh"),
            layers.MaxPooling3D(2, strides=1),
            layers.Conv3D(2, (2, 3, 2), strides=(1, 2, 1), activation="sigmoid"),
            layers.AveragePooling3D((2, 1, 2), padding="same"),
            layers.Conv3D(2, 2, dilation_rate=(1, 1, 2), padding="same", use_bias=False),
            layers.Conv3DTranspose(2, 3, strides=(2, 1, 2), padding="same", activation="tanh"),
            layers.GlobalAveragePooling3D(),
            layers.Dense(2),
        ]
    )
    model.compile(optimizer="sgd", loss="mse")
    assert_gradients_match_finite_differences(
        model, rng.normal(size=(3, 5, 6, 4, 2)), rng.normal(size=(3, 2))
    )


def test_finite_differences_single_channel_resampling_and_global_max(float64):
    rng = np.random.default_rng(5)
    model = eigennet.Sequential(
        [
            eigennet.Input(shape=(4, 5, 5, 1)),
            layers.Conv3D(3, (2, 3, 3), strides=(2, 1, 2), padding="same", activation="elu"),
            layers.Conv3D(2, 1, activation="tanh"),
            layers.ZeroPadding3D((1, 0, 2)),
            layers.UpSampling3D((1, 2, 1)),
            layers.Cropping3D(((0, 1), (1, 2), (0, 1))),
            layers.GlobalMaxPooling3D(keepdims=True),
            layers.Flatten(),
            layers.Dense(1),
        ]
    )
    model.compile(optimizer="sgd", loss="mse")
    assert_gradients_match_finite_differences(
        model, rng.normal(size=(3, 4, 5, 5, 1)), rng.normal(size=(3, 1))
    )


# ------------------------------------------------------------------ shapes, variable axes
@pytest.mark.parametrize(
    "make, input_shape, output_shape, params",
    [
        (lambda: layers.Conv3D(8, 3), (10, 9, 8, 2), (8, 7, 6, 8), 27 * 2 * 8 + 8),
        (lambda: layers.Conv3D(4, (1, 3, 3), strides=2, padding="same"), (5, 9, 8, 3),
         (3, 5, 4, 4), 9 * 3 * 4 + 4),
        (lambda: layers.Conv3D(2, 3, dilation_rate=2, use_bias=False), (9, 9, 9, 1),
         (5, 5, 5, 2), 27 * 2),
        (lambda: layers.MaxPooling3D(), (6, 5, 4, 3), (3, 2, 2, 3), 0),
        (lambda: layers.AveragePooling3D(3, strides=2, padding="same"), (6, 5, 4, 3),
         (3, 3, 2, 3), 0),
        (lambda: layers.GlobalMaxPooling3D(), (6, 5, 4, 3), (3,), 0),
        (lambda: layers.GlobalAveragePooling3D(keepdims=True), (6, 5, 4, 3), (1, 1, 1, 3), 0),
    ],
)  # fmt: skip
def test_output_shapes_and_param_counts(make, input_shape, output_shape, params):
    model = eigennet.Sequential([eigennet.Input(shape=input_shape), make()])
    assert model.output_shape == (None, *output_shape)
    assert model.count_params() == params


def test_variable_spatial_axes():
    def build(shape):
        inputs = eigennet.Input(shape)
        x = layers.Conv3D(4, 3, strides=2, padding="same", activation="relu")(inputs)
        x = layers.MaxPooling3D(2, padding="same")(x)
        x = layers.GlobalAveragePooling3D()(x)
        return eigennet.Model(inputs, layers.Dense(2)(x))

    model = build((None, None, None, 1))
    assert model.output_shape == (None, 2)
    assert model.layers[1].output.shape == (None, None, None, None, 4)
    rng = np.random.default_rng(6)
    for shape in [(6, 7, 5, 1), (9, 4, 11, 1)]:
        fixed = build(shape)
        fixed.set_weights(model.get_weights())
        x = rng.normal(size=(3, *shape)).astype(np.float32)
        np.testing.assert_allclose(model.predict(x, verbose=0), fixed.predict(x, verbose=0),
                                   rtol=1e-6, atol=1e-6)  # fmt: skip


# ------------------------------------------------------------------ config, saving
@pytest.mark.parametrize(
    "make",
    [
        lambda: layers.Conv3D(3, (2, 3, 1), strides=(1, 2, 1), padding="same", activation="relu",
                              kernel_regularizer="l2", name="c3"),
        lambda: layers.Conv3DTranspose(2, 3, strides=2, output_padding=1, use_bias=False),
        lambda: layers.MaxPooling3D((1, 2, 2), strides=1, padding="same"),
        lambda: layers.AveragePooling3D(2),
        lambda: layers.GlobalMaxPooling3D(keepdims=True),
        lambda: layers.GlobalAveragePooling3D(),
        lambda: layers.UpSampling3D((1, 2, 3), data_format="channels_first"),
        lambda: layers.ZeroPadding3D((1, 2, 0)),
        lambda: layers.Cropping3D(((0, 1), (1, 1), (2, 0))),
        lambda: layers.AlphaDropout(0.2, noise_shape=(None, 1, 3), seed=4),
    ],
)  # fmt: skip
def test_config_round_trip(make):
    layer = make()
    config = layer.get_config()
    assert type(layer).from_config(config).get_config() == config


def test_save_load_round_trip(tmp_path):
    rng = np.random.default_rng(7)
    model = eigennet.Sequential(
        [
            eigennet.Input(shape=(6, 6, 6, 1)),
            layers.Conv3D(4, 3, padding="same", activation="relu"),
            layers.MaxPooling3D(),
            layers.AlphaDropout(0.1, seed=3),
            layers.Conv3D(4, 2, strides=2),
            layers.AveragePooling3D(1),
            layers.GlobalMaxPooling3D(),
            layers.Dense(2, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x = rng.normal(size=(16, 6, 6, 6, 1)).astype(np.float32)
    y = rng.integers(0, 2, size=16)
    model.fit(x, y, epochs=1, batch_size=8, verbose=0)
    model.save(tmp_path / "v.keras")
    loaded = eigennet.models.load_model(tmp_path / "v.keras")
    assert [type(a) for a in loaded.layers] == [type(b) for b in model.layers]
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


# ------------------------------------------------------------------ bad input
def test_bad_input_rank_and_too_small_samples():
    with pytest.raises(ValueError, match="Conv3D.*depth, rows, cols"):
        eigennet.Sequential([eigennet.Input(shape=(5, 5, 5)), layers.Conv3D(2, 3)])
    with pytest.raises(ValueError, match="MaxPooling3D"):
        layers.MaxPooling3D()(np.zeros((2, 4, 4, 1)))
    with pytest.raises(ValueError, match="smaller than kernel_size"):
        eigennet.Sequential([eigennet.Input(shape=(2, 8, 8, 1)), layers.Conv3D(2, 3)])
    with pytest.raises(ValueError, match="smaller than kernel_size"):  # dilation widens it
        eigennet.Sequential(
            [eigennet.Input(shape=(4, 8, 8, 1)), layers.Conv3D(2, 3, dilation_rate=2)]
        )
    with pytest.raises(ValueError, match="smaller than pool_size"):
        eigennet.Sequential([eigennet.Input(shape=(1, 8, 8, 1)), layers.AveragePooling3D(2)])
    # 'same' padding fits any size
    model = eigennet.Sequential(
        [eigennet.Input(shape=(2, 8, 8, 1)), layers.Conv3D(2, 3, padding="same")]
    )
    assert model.output_shape == (None, 2, 8, 8, 2)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: layers.Conv3D(2, (3, 3)), "kernel_size"),
        (lambda: layers.Conv3D(0, 3), "filters"),
        (lambda: layers.Conv3D(2, 3, strides=(1, 0, 1)), "strides"),
        (lambda: layers.Conv3D(2, 3, padding="causal"), "padding"),
        (lambda: layers.Conv3D(2, 3, strides=2, dilation_rate=2), "dilation_rate"),
        (lambda: layers.Conv3D(2, 3, groups=2), "groups"),
        (lambda: layers.MaxPooling3D((2, 2)), "pool_size"),
        (lambda: layers.AveragePooling3D(2, padding="full"), "padding"),
        (lambda: layers.AlphaDropout(1.5), "rate"),
        (lambda: layers.AlphaDropout(0.1, noise_shape=(None, 0)), "noise_shape"),
    ],
)  # fmt: skip
def test_bad_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


# ------------------------------------------------------------------ AlphaDropout
_ALPHA_P = -1.6732632423543772848170429916717 * 1.0507009873554804934193349852946


def _alpha_affine(rate):
    a = ((1 - rate) * (1 + rate * _ALPHA_P**2)) ** -0.5
    return a, -a * _ALPHA_P * rate


def _alpha_training_outputs(layer_maker, x):
    """The training output on arrays and through a native model (the traced call)."""
    model = eigennet.Sequential([eigennet.Input(x.shape[1:]), layer_maker()])
    return [np.asarray(layer_maker()(x, training=True)), np.asarray(model(x, training=True))]


def test_alpha_dropout_values_and_statistics():
    rate = 0.3
    a, b = _alpha_affine(rate)
    rng = np.random.default_rng(8)
    x = rng.normal(size=(400, 50)).astype(np.float32)
    for out in _alpha_training_outputs(lambda: layers.AlphaDropout(rate), x):
        kept = np.isclose(out, a * x + b, rtol=1e-5, atol=1e-6)
        dropped = np.isclose(out, a * _ALPHA_P + b, rtol=1e-5, atol=1e-6)
        assert np.all(kept | dropped)
        assert abs(dropped.mean() - rate) < 0.02
        # self-normalizing: zero mean, unit variance in, about the same out
        assert abs(out.mean()) < 0.03 and abs(out.std() - 1.0) < 0.03


def test_alpha_dropout_noise_shape_shares_draws():
    a, b = _alpha_affine(0.5)
    x = np.ones((64, 6, 4), dtype=np.float32)
    for out in _alpha_training_outputs(lambda: layers.AlphaDropout(0.5, noise_shape=(None, 1, 4)),
                                       x):  # fmt: skip
        np.testing.assert_array_equal(out, np.broadcast_to(out[:, :1], out.shape))
        assert np.all(np.isclose(out, a + b) | np.isclose(out, a * _ALPHA_P + b))


def test_alpha_dropout_inference_rate_zero_and_seed():
    x = np.random.default_rng(9).normal(size=(8, 5)).astype(np.float32)
    np.testing.assert_array_equal(layers.AlphaDropout(0.4)(x), x)
    np.testing.assert_array_equal(layers.AlphaDropout(0.0)(x, training=True), x)
    model = eigennet.Sequential([eigennet.Input((5,)), layers.AlphaDropout(0.4)])
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)
    first = layers.AlphaDropout(0.4, seed=3)(x, training=True)
    np.testing.assert_array_equal(layers.AlphaDropout(0.4, seed=3)(x, training=True), first)
    with pytest.raises(ValueError, match="rate=1"):
        layers.AlphaDropout(1.0)(x, training=True)


def test_alpha_dropout_trains_in_fit():
    eigennet.utils.set_random_seed(1)  # (its weights must not depend on the tests run before)
    rng = np.random.default_rng(10)
    x = rng.normal(size=(64, 6)).astype(np.float32)
    y = x @ rng.normal(size=(6, 1)).astype(np.float32)
    model = eigennet.Sequential(
        [eigennet.Input((6,)), layers.Dense(16, activation="selu"), layers.AlphaDropout(0.1),
         layers.Dense(1)]
    )  # fmt: skip
    model.compile(optimizer="adam", loss="mse")
    history = model.fit(x, y, epochs=30, batch_size=16, verbose=0).history["loss"]
    assert history[-1] < 0.5 * history[0]


# ------------------------------------------------------------------ Keras 3 parity
def _keras():
    pytest.importorskip("torch")
    return pytest.importorskip("keras")


KERAS_CASES = [
    ("Conv3D", dict(filters=3, kernel_size=3), (5, 6, 4, 2)),
    ("Conv3D", dict(filters=3, kernel_size=(2, 3, 3), strides=2, padding="same",
                    activation="relu"), (5, 6, 7, 2)),
    ("Conv3D", dict(filters=2, kernel_size=3, dilation_rate=(2, 1, 2), padding="same"),
     (5, 4, 6, 1)),
    ("Conv3DTranspose", dict(filters=2, kernel_size=3, strides=2, padding="same"), (3, 4, 2, 2)),
    ("Conv3DTranspose", dict(filters=3, kernel_size=(2, 3, 2), strides=(1, 2, 3)), (3, 3, 2, 2)),
    ("MaxPooling3D", dict(), (4, 5, 6, 2)),
    ("MaxPooling3D", dict(pool_size=3, strides=2, padding="same"), (5, 5, 5, 2)),
    ("AveragePooling3D", dict(pool_size=2), (4, 5, 6, 2)),
    ("AveragePooling3D", dict(pool_size=3, strides=1, padding="same"), (4, 5, 3, 2)),
    ("GlobalMaxPooling3D", dict(keepdims=True), (3, 4, 5, 2)),
    ("UpSampling3D", dict(size=(2, 1, 3)), (3, 4, 2, 2)),
    ("ZeroPadding3D", dict(padding=((1, 0), (2, 2), (0, 3))), (3, 4, 2, 2)),
    ("Cropping3D", dict(cropping=((1, 1), (0, 2), (1, 0))), (3, 4, 2, 2)),
    ("GlobalAveragePooling3D", dict(), (3, 4, 5, 2)),
    ("AlphaDropout", dict(rate=0.2, noise_shape=(None, 1, 1, 1, 2), seed=1), (3, 4, 5, 2)),
]  # fmt: skip


@pytest.mark.parametrize("case", KERAS_CASES, ids=lambda c: c[0] + "-" + _case_id(c[1:]))
def test_predict_shapes_params_and_config_match_keras(case):
    keras = _keras()
    name, kwargs, shape = case
    k_model = keras.Sequential([keras.Input(shape=shape), getattr(keras.layers, name)(**kwargs)])
    e_model = eigennet.Sequential(
        [eigennet.Input(shape=shape), getattr(eigennet.layers, name)(**kwargs)]
    )
    e_model.set_weights([np.array(w) for w in k_model.get_weights()])
    assert e_model.output_shape == k_model.output_shape
    assert e_model.count_params() == k_model.count_params()
    k_layer, e_layer = k_model.layers[0], e_model.layers[0]
    assert [w.shape for w in e_layer.weights] == [tuple(w.shape) for w in k_layer.weights]
    assert set(e_layer.get_config()) == set(k_layer.get_config())
    x = np.random.default_rng(0).normal(size=(4, *shape)).astype(np.float32)
    np.testing.assert_allclose(
        e_model.predict(x, verbose=0), k_model.predict(x, verbose=0), rtol=1e-4, atol=1e-5
    )


def _volume_cnn(lib):
    L = lib.layers
    return lib.Sequential(
        [
            lib.Input(shape=(6, 7, 6, 2)),
            L.Conv3D(4, 3, padding="same", activation="relu"),
            L.MaxPooling3D(2, padding="same"),
            L.Conv3D(5, (2, 3, 2), strides=(1, 2, 1), activation="tanh"),
            L.AveragePooling3D((1, 1, 2)),
            L.Conv3D(3, 2, dilation_rate=(1, 1, 1), padding="same", activation="sigmoid"),
            L.Conv3DTranspose(3, 2, strides=(1, 2, 2), activation="relu"),
            L.GlobalAveragePooling3D(),
            L.Dense(3, activation="softmax"),
        ]
    )


def test_training_matches_keras():
    keras = _keras()
    from keras_parity import assert_trains_like_keras

    keras.utils.set_random_seed(5)
    k_model, e_model = _volume_cnn(keras), _volume_cnn(eigennet)
    e_model.set_weights([np.array(w) for w in k_model.get_weights()])
    rng = np.random.default_rng(11)
    x = rng.random((24, 6, 7, 6, 2)).astype(np.float32)
    y = rng.integers(0, 3, size=24)
    for lib, model in ((keras, k_model), (eigennet, e_model)):
        model.compile(optimizer=lib.optimizers.Adam(learning_rate=0.01),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])  # fmt: skip
    assert_trains_like_keras(e_model, k_model, x, y, epochs=2, batch_size=8, rtol=1e-3)
