"""`ops.image.rgb_to_hsv` / `hsv_to_rgb` and the layers Solarization, RandomPosterization,
RandomSharpness, RandomSaturation, RandomHue, RandomShear, RandomColorJitter and Pipeline:
against Keras on the same
images where the draw is fixed (a factor of one value) or one of two signs, on arrays and
traced in a model, inference left alone, configs and the argument errors."""

from __future__ import annotations

import numpy as np
import pytest

import eigennet as keras
from eigennet import layers, ops

RNG = np.random.default_rng(3)
X = RNG.uniform(0, 255, (24, 6, 7, 3)).astype("float32")
X[0, 0, :3] = [[10, 10, 10], [0, 0, 0], [255, 0, 0]]  # gray, black, a pure hue


def _keras():
    return pytest.importorskip("keras")


def _in_model(layer, x):
    """The layer traced in a model, run natively in training mode (the augmentation on)."""
    inputs = keras.Input(x.shape[1:])
    return np.asarray(keras.Model(inputs, layer(inputs))(x, training=True))


def _either(out, candidates):
    """Whether each image of `out` is close to the same image of one of the candidates."""
    close = [np.isclose(out, c, atol=1e-3).all(axis=(1, 2, 3)) for c in candidates]
    return np.logical_or.reduce(close)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_hsv_round_trip_and_keras(data_format):
    x = X / 255 if data_format == "channels_last" else (X / 255).transpose(0, 3, 1, 2)
    hsv = ops.image.rgb_to_hsv(x, data_format)
    np.testing.assert_allclose(ops.image.hsv_to_rgb(hsv, data_format), x, atol=1e-6)
    inputs = keras.Input(x.shape[1:])
    model = keras.Model(inputs, ops.image.rgb_to_hsv(inputs, data_format))
    np.testing.assert_array_equal(model.predict(x, verbose=0), hsv)
    h, s, v = np.moveaxis(hsv if data_format == "channels_last" else hsv.transpose(0, 2, 3, 1),
                          -1, 0)  # fmt: skip
    flat = (X / 255).reshape(-1, 3)
    np.testing.assert_allclose(v.reshape(-1), flat.max(1), rtol=1e-6)
    assert (h >= 0).all() and (h < 1).all() and h.reshape(-1)[2] == 0  # red: hue 0
    kr = _keras()
    theirs = kr.ops.convert_to_numpy(kr.ops.image.rgb_to_hsv(x, data_format=data_format))
    np.testing.assert_allclose(hsv, theirs, atol=1e-6)
    back = kr.ops.convert_to_numpy(kr.ops.image.hsv_to_rgb(hsv, data_format=data_format))
    np.testing.assert_allclose(ops.image.hsv_to_rgb(hsv, data_format), back, atol=1e-6)
    with pytest.raises(ValueError, match="float dtype"):
        ops.image.rgb_to_hsv(X.astype("uint8"))
    with pytest.raises(ValueError, match="3-channel"):
        ops.image.rgb_to_hsv(X[..., :2])


def test_solarization():
    inverted = layers.Solarization()(X)  # threshold 0: every pixel
    np.testing.assert_allclose(inverted, 255 - X, rtol=1e-6)
    np.testing.assert_allclose(_in_model(layers.Solarization(), X), 255 - X, rtol=1e-6)
    unit = layers.Solarization(value_range=(0, 1))(X / 255)
    np.testing.assert_allclose(unit, 1 - X / 255, atol=1e-6)
    # A threshold per image in [0.5, 127.5): pixels below it kept, the others inverted.
    out = np.asarray(layers.Solarization(threshold_factor=(0.5, 0.5), seed=4)(X))
    for image, result in zip(X, out):
        kept = np.isclose(result, image)
        assert (np.isclose(result, 255 - image) | kept).all()
        below, above = image[kept], image[~kept]
        assert below.max(initial=0) < above.min(initial=255) and above.min(initial=255) >= 0.5
    np.testing.assert_array_equal(layers.Solarization()(X, training=False), X)
    kr = _keras()
    theirs = kr.layers.Solarization()(X, training=True)
    np.testing.assert_allclose(inverted, kr.ops.convert_to_numpy(theirs), rtol=1e-6)
    with pytest.raises(ValueError, match="`addition_factor` and `threshold_factor`"):
        layers.Solarization(addition_factor=1.5)


@pytest.mark.parametrize("bits", [1, 3, 8])
def test_posterization_as_keras(bits):
    images = np.floor(X)
    out = np.asarray(layers.RandomPosterization(factor=(bits, bits))(images))
    step = 2.0 ** (8 - bits)
    np.testing.assert_array_equal(out, np.floor(images / step) * step)
    in_unit = layers.RandomPosterization(factor=(bits, bits), value_range=(0, 1))
    np.testing.assert_allclose(_in_model(in_unit, images / 255), out / 255, atol=1e-6)
    kr = _keras()
    theirs = kr.layers.RandomPosterization(factor=(bits, bits))(images, training=True)
    np.testing.assert_array_equal(out, kr.ops.convert_to_numpy(theirs))


def test_posterization_draws_whole_bits():
    out = np.asarray(layers.RandomPosterization(factor=4, seed=5)(np.full((200, 2, 2, 3), 255.0)))
    values = set(np.unique(out))  # 255 keeps its top `bits` bits: 128, 192 or 224
    assert values == {128.0, 192.0, 224.0}
    with pytest.raises(ValueError, match=r"\[1, 8\]"):
        layers.RandomPosterization(factor=9)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize("factor", [0.0, 0.25, 0.9])
def test_sharpness_as_keras(factor, data_format):
    x = X if data_format == "channels_last" else X.transpose(0, 3, 1, 2)
    layer = layers.RandomSharpness((factor, factor), data_format=data_format)
    out = np.asarray(layer(x))
    np.testing.assert_allclose(_in_model(layer, x), out, rtol=1e-5, atol=1e-3)
    if factor == 0.0:  # fully blurred: the 3x3 kernel with zero padding, at the centre pixel
        centre = (X[:, :3, :3] * 1 / 13).sum((1, 2)) + X[:, 1, 1] * 4 / 13
        got = out[:, 1, 1] if data_format == "channels_last" else out[:, :, 1, 1]
        np.testing.assert_allclose(got, np.clip(centre, 0, 255), rtol=1e-5)
    kr = _keras()
    theirs = kr.layers.RandomSharpness((factor, factor), data_format=data_format)(x, training=True)
    np.testing.assert_allclose(out, kr.ops.convert_to_numpy(theirs), rtol=1e-5, atol=1e-3)
    np.testing.assert_array_equal(layer(x, training=False), x)


@pytest.mark.parametrize("factor", [0.0, 0.3, 0.5, 0.8])
def test_saturation_as_keras(factor):
    layer = layers.RandomSaturation((factor, factor))
    out = np.asarray(layer(X))
    np.testing.assert_allclose(_in_model(layer, X), out, rtol=1e-5, atol=1e-3)
    if factor == 0.0:  # gray: every channel the maximum
        np.testing.assert_allclose(out, np.broadcast_to(X.max(-1, keepdims=True), X.shape))
    if factor == 0.5:
        np.testing.assert_allclose(out, X, rtol=1e-5, atol=1e-3)
    kr = _keras()
    theirs = kr.layers.RandomSaturation((factor, factor))(X, training=True)
    np.testing.assert_allclose(out, kr.ops.convert_to_numpy(theirs), rtol=1e-5, atol=1e-3)
    assert layers.RandomSaturation(0.5).factor == (-0.5, 0.5)  # as Keras's rule gives


def test_hue_turns_by_a_signed_half_factor():
    layer = layers.RandomHue((0.4, 0.4), seed=6)
    out = np.asarray(layer(X))
    hsv = ops.image.rgb_to_hsv(X / 255)
    turned = []
    for sign in (1, -1):
        h = np.mod(hsv[..., :1] + sign * 0.2, 1.0)
        rgb = ops.image.hsv_to_rgb(np.concatenate([h, hsv[..., 1:]], -1))
        turned.append(np.clip(rgb, 0, 1) * 255)
    close = [np.isclose(out, t, atol=1e-3).all(axis=(1, 2, 3)) for t in turned]
    assert (close[0] | close[1]).all() and close[0].any() and close[1].any()
    assert _either(_in_model(layers.RandomHue((0.4, 0.4), seed=6), X), turned).all()
    np.testing.assert_allclose(layers.RandomHue((0.0, 0.0))(X), X, atol=2e-3)
    kr = _keras()
    theirs = kr.ops.convert_to_numpy(kr.layers.RandomHue((0.4, 0.4))(X, training=True))
    assert _either(theirs, turned).all()


def test_shear_as_keras_for_either_sign():
    layer = layers.RandomShear(x_factor=(0.3, 0.3), y_factor=(0.1, 0.1), seed=7)
    out = np.asarray(layer(X))
    kr = _keras()
    expected = []
    for sign in (1, -1):
        transform = np.tile([[1, 0.3 * sign, 0, 0.1 * sign, 1, 0, 0, 0]], (len(X), 1))
        expected.append(kr.ops.convert_to_numpy(kr.ops.image.affine_transform(
            X, transform.astype("float32"), fill_mode="reflect")))  # fmt: skip
    close = [np.isclose(out, e, atol=1e-3).all(axis=(1, 2, 3)) for e in expected]
    assert (close[0] | close[1]).all() and close[0].any() and close[1].any()
    traced = _in_model(layers.RandomShear(x_factor=(0.3, 0.3), y_factor=(0.1, 0.1)), X)
    assert _either(traced, expected).all()
    np.testing.assert_array_equal(layer(X, training=False), X)
    assert layers.RandomShear(0.2).x_factor == (-0.2, 0.2)
    with pytest.raises(ValueError, match=r"\[0, 1.0\]"):
        layers.RandomShear(x_factor=-0.2)


def test_in_a_model_they_augment_in_training_only():
    model = keras.Sequential([keras.Input((6, 7, 3)), layers.Solarization(),
                              layers.RandomSharpness(0.5), layers.RandomSaturation(0.5),
                              layers.RandomHue(0.3), layers.RandomPosterization(6),
                              layers.RandomShear(0.2, 0.2), layers.Flatten(),
                              layers.Dense(1)])  # fmt: skip
    model.compile("sgd", "mse")
    model.fit(X / 255, np.zeros((len(X), 1)), verbose=0)
    head = model.layers[-1]
    expected = (X / 255).reshape(len(X), -1) @ head.kernel.numpy() + head.bias.numpy()
    np.testing.assert_allclose(model.predict(X / 255, verbose=0), expected, rtol=1e-4)


@pytest.mark.parametrize(
    "cls, kwargs",
    [
        ("Solarization", {"addition_factor": 0.2, "threshold_factor": (0.1, 0.6)}),
        ("RandomPosterization", {"factor": 4, "value_range": (0, 1)}),
        ("RandomSharpness", {"factor": 0.3}),
        ("RandomSaturation", {"factor": (0.2, 0.7)}),
        ("RandomHue", {"factor": 0.5, "value_range": (0, 1)}),
        ("RandomShear", {"x_factor": 0.3, "y_factor": (0.1, 0.2), "fill_mode": "constant"}),
    ],
)
def test_configs_match_keras(cls, kwargs):
    ours = getattr(layers, cls)(**kwargs).get_config()
    again = getattr(layers, cls).from_config(ours)
    assert again.get_config() == ours
    kr = _keras()
    theirs = getattr(kr.layers, cls)(**kwargs).get_config()
    assert set(ours) - {"dtype"} == set(theirs) - {"dtype"}
    for key in set(ours) - {"dtype", "name"}:
        assert ours[key] == theirs[key], key


def test_color_jitter_chains_the_four_layers_as_keras():
    kwargs = {"brightness_factor": (0.2, 0.2), "saturation_factor": (0.3, 0.3),
              "hue_factor": (0.0, 0.0), "contrast_factor": (0.0, 0.0)}  # fmt: skip
    layer = layers.RandomColorJitter(**kwargs)
    out = np.asarray(layer(X))
    np.testing.assert_allclose(_in_model(layer, X), out, rtol=1e-5, atol=1e-3)
    step = layers.RandomBrightness((0.2, 0.2))(X)
    step = layers.RandomContrast((0.0, 0.0))(step)
    step = layers.RandomSaturation((0.3, 0.3))(step)
    np.testing.assert_allclose(out, layers.RandomHue((0.0, 0.0))(step), rtol=1e-5, atol=1e-3)
    np.testing.assert_array_equal(layers.RandomColorJitter()(X), X)  # no factor: nothing
    np.testing.assert_array_equal(layer(X, training=False), X)
    kr = _keras()
    theirs = kr.layers.RandomColorJitter(**kwargs)(X, training=True)
    np.testing.assert_allclose(out, kr.ops.convert_to_numpy(theirs), rtol=1e-5, atol=1e-3)
    config = layer.get_config()
    assert layers.RandomColorJitter.from_config(config).get_config() == config
    assert set(config) - {"dtype"} == set(kr.layers.RandomColorJitter().get_config()) - {"dtype"}


def test_pipeline(tmp_path):
    pipeline = layers.Pipeline(
        [layers.Solarization(), layers.RandomFlip("horizontal", seed=1), layers.Rescaling(0.5)]
    )
    assert [type(x).__name__ for x in pipeline.layers] == [
        "Solarization",
        "RandomFlip",
        "Rescaling",
    ]
    out = np.asarray(pipeline(X))  # training by default, as Keras's Pipeline
    flipped = (255 - X[:, :, ::-1]) * 0.5
    assert _either(out, [(255 - X) * 0.5, flipped]).all()
    np.testing.assert_allclose(pipeline(X, training=False), X * 0.5)
    inputs = keras.Input(X.shape[1:])
    model = keras.Model(inputs, layers.Dense(2)(layers.Flatten()(pipeline(inputs))))
    head = model.layers[-1]
    expected = (X * 0.5).reshape(len(X), -1) @ head.kernel.numpy() + head.bias.numpy()
    np.testing.assert_allclose(model.predict(X, verbose=0), expected, rtol=1e-4, atol=1e-3)
    model.compile("sgd", "mse")
    model.fit(X / 255, np.zeros((len(X), 2)), verbose=0)
    model.save(tmp_path / "pipeline.keras")
    loaded = keras.models.load_model(tmp_path / "pipeline.keras")
    np.testing.assert_allclose(loaded.predict(X, verbose=0), model.predict(X, verbose=0))
    assert pipeline.compute_output_shape((None, 6, 7, 3)) == (None, 6, 7, 3)
    with pytest.raises(ValueError, match="list of layers"):
        layers.Pipeline([np.zeros(2)])
    kr = _keras()
    ours = pipeline.get_config()
    theirs = kr.layers.Pipeline([kr.layers.Rescaling(0.5)]).get_config()
    assert set(ours) == set(theirs) and ours["layers"][2]["class_name"] == "Rescaling"
