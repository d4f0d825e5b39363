"""`ops.tile` by the batch size and `ops.broadcast_to` of a constant to the batch, inside a
traced call(): keras-io's causal masks (`ops.tile(mask, [batch_size, 1, 1])` with
`batch_size = ops.shape(x)[0]`, None while tracing) run natively."""

from __future__ import annotations

import numpy as np
import pytest

import eigennet as keras
from eigennet import layers, ops


class CausalMix(layers.Layer):
    """Mixes the steps with a causal mask made as keras-io's miniature GPT makes it."""

    def call(self, x):
        input_shape = ops.shape(x)
        batch_size, n = input_shape[0], input_shape[1]
        i = ops.arange(n)[:, None]
        j = ops.arange(n)
        mask = ops.reshape(ops.cast(i >= j, "int32"), (1, n, n))
        mult = ops.concatenate(
            [ops.expand_dims(batch_size, -1), ops.convert_to_tensor([1, 1])], axis=0
        )
        return ops.matmul(ops.cast(ops.tile(mask, mult), x.dtype), x)


def test_tiled_mask_predicts_and_trains():
    x = np.random.default_rng(0).normal(size=(3, 5, 4)).astype("float32")
    lower = np.tril(np.ones((5, 5)))
    inputs = keras.Input((5, 4))
    hidden = layers.Dense(4, name="d")(inputs)
    model = keras.Model(inputs, CausalMix()(hidden))
    dense = model.get_layer("d")
    h = x @ dense.kernel.numpy() + dense.bias.numpy()
    np.testing.assert_allclose(model.predict(x, verbose=0), lower @ h, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(CausalMix()(h), lower @ h, rtol=1e-5, atol=1e-6)  # on arrays
    # the gradient reaches the Dense through the mixing, none through the batch reference
    model.compile(keras.optimizers.SGD(0.1), "mse")
    y = np.zeros_like(x)
    w = dense.kernel.numpy().astype(np.float64)
    grad_out = 2 * (lower @ h) / x.size
    grad_h = np.einsum("ts,nti->nsi", lower, grad_out)
    model.train_on_batch(x, y)
    np.testing.assert_allclose(
        dense.kernel.numpy(), w - 0.1 * np.einsum("nsi,nsj->ij", x, grad_h), rtol=1e-4
    )


def test_broadcast_to_the_batch_and_errors():
    class Broadcast(layers.Layer):
        def call(self, x):
            return ops.broadcast_to(np.arange(3.0, dtype="float32"), (None, 3)) + x * 0

    inputs = keras.Input((3,))
    model = keras.Model(inputs, Broadcast()(inputs))
    np.testing.assert_array_equal(model.predict(np.ones((2, 3)), verbose=0), [[0, 1, 2]] * 2)

    class TileRows(layers.Layer):
        def call(self, x):
            return ops.tile(np.ones((2, 3), "float32"), [None, 1]) + x

    with pytest.raises(ValueError, match="repeating axis 0 of size 2 by the batch size"):
        TileRows()(keras.Input((3,)))
    with pytest.raises(ValueError, match="only axis 0 may be repeated by the batch size"):
        ops.tile(np.ones((1, 3)), [1, None])
    with pytest.raises(ValueError, match="outside a layer's traced call"):
        ops.broadcast_to(np.ones(3), (None, 3))
