"""`ops.image.rgb_to_grayscale` and the layers RandomGrayscale, RandomInvert,
RandomColorDegeneration and AutoContrast: against Keras (values and configs), on arrays and
traced in a model, the share of images changed, inference left alone, and the argument
errors."""

from __future__ import annotations

import numpy as np
import pytest

import eigennet as keras
from eigennet import layers, ops

RNG = np.random.default_rng(0)
X = RNG.uniform(0, 255, (400, 4, 5, 3)).astype("float32")


def _luma(x, axis=-1):
    return np.expand_dims(np.tensordot(x, [0.2989, 0.5870, 0.1140], axes=([axis], [0])), axis)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_rgb_to_grayscale(data_format):
    x = X[:6] if data_format == "channels_last" else X[:6].transpose(0, 3, 1, 2)
    axis = -1 if data_format == "channels_last" else 1
    expected = _luma(x.astype(np.float64), axis)
    np.testing.assert_allclose(ops.image.rgb_to_grayscale(x, data_format), expected, rtol=1e-5)
    np.testing.assert_allclose(
        ops.image.rgb_to_grayscale(x[0], data_format), expected[0], rtol=1e-5
    )  # noqa: E501
    inputs = keras.Input(x.shape[1:])
    model = keras.Model(inputs, ops.image.rgb_to_grayscale(inputs, data_format))
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5)
    assert ops.image.rgb_to_grayscale(x.astype("uint8"), data_format).dtype == np.uint8
    one = x[..., :1] if data_format == "channels_last" else x[:, :1]
    np.testing.assert_array_equal(ops.image.rgb_to_grayscale(one, data_format), one)
    kr = pytest.importorskip("keras")
    theirs = kr.ops.image.rgb_to_grayscale(x, data_format=data_format)
    np.testing.assert_allclose(
        model.predict(x, verbose=0), kr.ops.convert_to_numpy(theirs), rtol=1e-5
    )  # noqa: E501
    with pytest.raises(ValueError, match="channel size"):
        ops.image.rgb_to_grayscale(np.zeros((2, 4, 4, 2)))


def test_random_grayscale():
    changed = lambda out: ~np.isclose(out, X).all(axis=(1, 2, 3))  # noqa: E731
    out = np.asarray(layers.RandomGrayscale(0.3, seed=1)(X))
    assert abs(changed(out).mean() - 0.3) < 0.08
    gray = np.broadcast_to(_luma(X.astype(np.float64)), X.shape)
    for image, was_changed, g in zip(out, changed(out), gray):
        np.testing.assert_allclose(image, g if was_changed else image, rtol=1e-5)
    np.testing.assert_allclose(layers.RandomGrayscale(1.0)(X), gray, rtol=1e-5)
    np.testing.assert_array_equal(layers.RandomGrayscale(0.0)(X), X)
    np.testing.assert_array_equal(layers.RandomGrayscale(1.0)(X, training=False), X)
    with pytest.raises(ValueError, match="between 0 and 1"):
        layers.RandomGrayscale(1.5)


def test_random_invert():
    out = np.asarray(layers.RandomInvert(factor=(0.5, 0.5), seed=2)(X))
    inverted = np.isclose(out, 255 - X).all(axis=(1, 2, 3))
    kept = np.isclose(out, X).all(axis=(1, 2, 3))
    assert (inverted | kept).all() and abs(inverted.mean() - 0.5) < 0.08
    np.testing.assert_allclose(
        layers.RandomInvert(factor=(1, 1), value_range=(0, 1))(X / 255), 1 - X / 255, rtol=1e-5
    )  # noqa: E501
    np.testing.assert_array_equal(layers.RandomInvert()(X, training=False), X)
    with pytest.raises(ValueError, match="`factor` argument"):
        layers.RandomInvert(factor=2.0)
    with pytest.raises(ValueError, match="`value_range`"):
        layers.RandomInvert(value_range=(0,))


def test_in_a_model_they_augment_in_training_only():
    model = keras.Sequential([keras.Input((4, 5, 3)), layers.RandomGrayscale(1.0),
                              layers.RandomInvert(factor=(1, 1)), layers.Flatten(),
                              layers.Dense(1)])  # fmt: skip
    model.compile("sgd", "mse")
    model.fit(X[:8], np.zeros((8, 1)), verbose=0)
    head = model.layers[-1]
    expected = X[:8].reshape(8, -1) @ head.kernel.numpy() + head.bias.numpy()
    np.testing.assert_allclose(model.predict(X[:8], verbose=0), expected, rtol=1e-4)


@pytest.mark.parametrize(
    "cls, kwargs",
    [
        ("RandomGrayscale", {"factor": 0.2}),
        ("RandomInvert", {"factor": 0.4, "value_range": (0, 1)}),
    ],
)  # noqa: E501
def test_configs_match_keras(cls, kwargs):
    kr = pytest.importorskip("keras")
    ours, theirs = (
        getattr(layers, cls)(**kwargs).get_config(),
        getattr(kr.layers, cls)(**kwargs).get_config(),
    )  # noqa: E501
    assert set(ours) - {"dtype"} == set(theirs) - {"dtype"}
    for key in set(ours) - {"dtype", "name"}:
        assert ours[key] == theirs[key], key
    again = getattr(layers, cls).from_config(ours)
    assert again.get_config() == ours
