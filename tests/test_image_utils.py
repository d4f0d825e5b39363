"""`ops.image.resize` (against Keras's, on arrays and in a model, with its gradient) and the
image file functions `load_img`, `img_to_array`, `array_to_img`, `save_img` and
`smart_resize` (against Keras's, which also decode with Pillow)."""

from __future__ import annotations

import numpy as np
import pytest

import eigennet as keras
from eigennet import ops
from gradient_check import assert_gradients_match_finite_differences


def _images(shape=(2, 7, 11, 3), seed=0):
    return np.random.default_rng(seed).uniform(0, 255, size=shape).astype("float32")


RESIZE_CASES = [
    ((5, 6), {}),
    ((5, 6), {"interpolation": "nearest"}),
    ((5, 6), {"crop_to_aspect_ratio": True}),
    ((5, 6), {"pad_to_aspect_ratio": True, "fill_value": 3.0}),
    ((14, 4), {"pad_to_aspect_ratio": True}),
    ((9, 4), {}),
    ((13, 25), {}),
    ((5, 6), {"data_format": "channels_first"}),
]


@pytest.mark.parametrize("size, kwargs", RESIZE_CASES)
def test_resize_matches_keras(size, kwargs):
    kr = pytest.importorskip("keras")
    x = _images()
    ours = np.asarray(ops.image.resize(x, size, **kwargs))
    theirs = kr.ops.convert_to_numpy(kr.ops.image.resize(x, size, **kwargs))
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-3)
    single = np.asarray(ops.image.resize(x[0], size, **kwargs))
    np.testing.assert_allclose(single, ours[0], rtol=0, atol=1e-4)


def test_resize_keeps_integer_images_integer():
    x = _images().astype("uint8")
    out = ops.image.resize(x, (5, 6))
    assert out.dtype == np.uint8
    exact = np.asarray(ops.image.resize(x.astype("float32"), (5, 6)))
    assert np.abs(out.astype(float) - exact).max() <= 0.5 + 1e-4  # rounded


@pytest.mark.parametrize(
    "kwargs", [{}, {"pad_to_aspect_ratio": True}, {"crop_to_aspect_ratio": True}]
)
def test_resize_in_a_model_trains(kwargs, float64):
    """Symbolic: the same values as on arrays, and a Dense before the resize gets the
    gradient the resize sends back (float64 finite differences)."""
    x = _images((3, 5, 7, 2)).astype("float64") / 255.0
    inputs = keras.Input((5, 7, 2))
    model = keras.Model(inputs, ops.image.resize(inputs, (4, 9), **kwargs))
    np.testing.assert_allclose(
        model.predict(x, verbose=0), ops.image.resize(x, (4, 9), **kwargs), atol=1e-12
    )

    class Resize(keras.layers.Layer):
        def call(self, images):
            return ops.image.resize(images, (4, 9), **kwargs)

    trained = keras.Sequential([keras.Input((5, 7, 2)), keras.layers.Dense(2), Resize(),
                                keras.layers.Flatten(), keras.layers.Dense(1)])  # fmt: skip
    trained.compile(optimizer="sgd", loss="mse")
    y = np.random.default_rng(1).normal(size=(3, 1))
    assert_gradients_match_finite_differences(trained, x, y)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"interpolation": "bicubic"}, ValueError, "supports interpolation"),
        ({"antialias": True}, ValueError, "antialias"),
        ({"fill_mode": "reflect"}, ValueError, "fill_mode"),
        ({"crop_to_aspect_ratio": True, "pad_to_aspect_ratio": True}, ValueError, "Only one"),
        ({"size": (5,)}, ValueError, "two elements"),
        ({"size": (0, 5)}, ValueError, "positive"),
    ],
)
def test_resize_errors(kwargs, error, message):
    size = kwargs.pop("size", (5, 6))
    with pytest.raises(error, match=message):
        ops.image.resize(_images(), size, **kwargs)
    with pytest.raises(ValueError, match="rank"):
        ops.image.resize(np.zeros((4, 4)), (2, 2))


# -- image files -----------------------------------------------------------------------------
@pytest.fixture
def png(tmp_path):
    image = pytest.importorskip("PIL.Image")
    pixels = np.random.default_rng(3).integers(0, 256, (15, 22, 3), dtype=np.uint8)
    path = tmp_path / "picture.png"
    image.fromarray(pixels).save(path)
    return path, pixels


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"color_mode": "grayscale"}, {"color_mode": "rgba"},
     {"target_size": (8, 10)}, {"target_size": (8, 10), "interpolation": "bilinear"},
     {"target_size": (8, 10), "keep_aspect_ratio": True}],
)  # fmt: skip
def test_load_img_and_img_to_array_match_keras(png, kwargs):
    kr = pytest.importorskip("keras")
    path, _ = png
    ours = keras.utils.img_to_array(keras.utils.load_img(path, **kwargs))
    theirs = kr.utils.img_to_array(kr.utils.load_img(path, **kwargs))
    assert ours.dtype == theirs.dtype == np.float32
    np.testing.assert_array_equal(ours, theirs)
    first = keras.utils.img_to_array(keras.utils.load_img(path, **kwargs), "channels_first")
    np.testing.assert_array_equal(first, ours.transpose(2, 0, 1))


def test_array_to_img_and_save_img_round_trip(png, tmp_path):
    path, pixels = png
    img = keras.utils.array_to_img(pixels.astype("float32"), scale=False)
    np.testing.assert_array_equal(np.asarray(img), pixels)
    scaled = np.asarray(keras.utils.array_to_img(pixels / 255.0 * 2 - 1))
    assert scaled.min() == 0 and scaled.max() == 255
    out = tmp_path / "copy.png"
    keras.utils.save_img(out, pixels, scale=False)
    np.testing.assert_array_equal(keras.utils.img_to_array(keras.utils.load_img(out)), pixels)
    gray = keras.utils.array_to_img(pixels[:, :, :1], scale=False)
    assert gray.mode == "L"
    kr = pytest.importorskip("keras")
    theirs = kr.utils.array_to_img(pixels / 255.0 * 2 - 1)
    np.testing.assert_array_equal(np.asarray(theirs), scaled)


def test_image_file_errors(png, tmp_path):
    path, pixels = png
    with pytest.raises(ValueError, match="cannot tell an image format"):
        keras.utils.save_img(tmp_path / "x.unknown", pixels)
    assert not list(tmp_path.glob("*x.unknown*"))  # nothing half-written
    broken = tmp_path / "broken.png"
    broken.write_bytes(path.read_bytes()[:60])  # truncated
    with pytest.raises(ValueError, match="broken.png: not a readable image"):
        keras.utils.load_img(broken)
    with pytest.raises(ValueError, match="color_mode"):
        keras.utils.load_img(path, color_mode="cmyk")
    with pytest.raises(ValueError, match="Invalid interpolation"):
        keras.utils.load_img(path, target_size=(4, 4), interpolation="fancy")
    with pytest.raises(ValueError, match="rank 3"):
        keras.utils.array_to_img(np.zeros((4, 4)))
    with pytest.raises(ValueError, match="channel number"):
        keras.utils.array_to_img(np.zeros((4, 4, 2)))


def test_smart_resize_matches_keras():
    kr = pytest.importorskip("keras")
    x = _images((17, 9, 3))
    ours = keras.preprocessing.image.smart_resize(x, (8, 8))
    theirs = kr.ops.convert_to_numpy(kr.preprocessing.image.smart_resize(x, (8, 8)))
    np.testing.assert_allclose(ours, theirs, atol=1e-3)
