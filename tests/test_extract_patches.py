"""`ops.image.extract_patches`: against a NumPy reference and Keras 3 (torch backend), on
arrays and inside a model (the native convolution with an identity kernel), with its
gradient reaching the layers before it."""

from __future__ import annotations

import numpy as np
import pytest

import eigennet as keras
from eigennet import ops

RNG = np.random.default_rng(0)


def _reference(x, size, strides):
    """Windows of `size` every `strides` (valid padding), each flattened (row, col, channel)."""
    (ph, pw), (sh, sw) = size, strides
    n, h, w, c = x.shape
    rows, cols = (h - ph) // sh + 1, (w - pw) // sw + 1
    out = np.zeros((n, rows, cols, ph * pw * c), x.dtype)
    for i in range(rows):
        for j in range(cols):
            out[:, i, j] = x[:, i * sh : i * sh + ph, j * sw : j * sw + pw].reshape(n, -1)
    return out


@pytest.mark.parametrize("size,strides", [(5, None), ((2, 3), None), ((3, 3), (1, 2)), (4, 3)])
def test_arrays_and_models_match_the_reference(size, strides):
    x = RNG.normal(size=(2, 12, 13, 3)).astype("float32")
    pair = (size, size) if isinstance(size, int) else size
    step = pair if strides is None else ((strides,) * 2 if isinstance(strides, int) else strides)
    expected = _reference(x, pair, step)
    np.testing.assert_array_equal(ops.image.extract_patches(x, size, strides), expected)
    np.testing.assert_array_equal(ops.image.extract_patches(x[0], size, strides), expected[0])
    inputs = keras.Input((12, 13, 3))
    model = keras.Model(inputs, ops.image.extract_patches(inputs, size, strides))
    assert model.output_shape == (None, *expected.shape[1:])
    np.testing.assert_array_equal(model.predict(x, verbose=0), expected)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(size=3),
        dict(size=(2, 4), padding="same"),
        dict(size=3, strides=1, dilation_rate=2),
    ],  # fmt: skip
)
def test_matches_keras(kwargs):
    theirs = pytest.importorskip("keras")
    x = RNG.normal(size=(2, 9, 10, 2)).astype("float32")
    expected = np.asarray(theirs.ops.image.extract_patches(x, **kwargs))
    np.testing.assert_allclose(ops.image.extract_patches(x, **kwargs), expected, atol=1e-6)


def test_gradient_reaches_the_layers_before():
    """A Dense before the patches trains as it would on the gathered values."""
    inputs = keras.Input((4, 4, 2))
    hidden = keras.layers.Dense(2, use_bias=False, name="mix")(inputs)
    patches = ops.image.extract_patches(hidden, 2)  # (2, 2, 8)
    model = keras.Model(inputs, keras.layers.Flatten()(patches))
    model.compile(keras.optimizers.SGD(0.1), "mse")
    x, y = RNG.normal(size=(3, 4, 4, 2)).astype("float32"), RNG.normal(size=(3, 32))
    w = model.get_layer("mix").kernel.numpy().astype(np.float64)
    out = _reference(x.astype(np.float64) @ w, (2, 2), (2, 2)).reshape(3, -1)
    grad_out = (2 * (out - y) / out.size).reshape(3, 2, 2, 8)
    grad_hidden = np.zeros((3, 4, 4, 2))
    for i in range(2):
        for j in range(2):
            grad_hidden[:, 2 * i : 2 * i + 2, 2 * j : 2 * j + 2] = grad_out[:, i, j].reshape(
                3, 2, 2, 2
            )
    expected = w - 0.1 * np.einsum("nhwc,nhwf->cf", x, grad_hidden)
    model.train_on_batch(x, y)
    np.testing.assert_allclose(model.get_layer("mix").kernel.numpy(), expected, rtol=1e-5)


def test_errors():
    x = np.zeros((1, 6, 6, 1), np.float32)
    with pytest.raises(TypeError, match="Invalid `size` argument"):
        ops.image.extract_patches(x, "3")
    with pytest.raises(ValueError, match="tuple of length 2 or 3"):
        ops.image.extract_patches(x, (1, 2, 3, 4))
    with pytest.raises(NotImplementedError, match="3-D patches"):
        ops.image.extract_patches(x, (2, 2, 2))
    with pytest.raises(ValueError, match="rank 3 or 4"):
        ops.image.extract_patches(np.zeros((6, 6)), 2)
