"""Sizes known only per batch inside a traced call(): the batch size (`ops.shape(x)[0]`, None)
that `ops.tile` and `ops.broadcast_to` give a constant, and an axis of variable length
(`keras.Input(shape=(None,))`): the positions `ops.arange(length)`, the length in ops,
whole-axis indexing, reshapes and broadcasts that keep the axis, and attention masks over it.
keras-io's position embeddings and causal masks, checked against NumPy at several lengths."""

from __future__ import annotations

import numpy as np
import pytest

import eigennet as keras
from eigennet import layers, ops


class PositionalEmbedding(layers.Layer):
    def __init__(self, sequence_length, vocab_size, embed_dim, **kwargs):
        super().__init__(**kwargs)
        self.token_embeddings = layers.Embedding(vocab_size, embed_dim)
        self.position_embeddings = layers.Embedding(sequence_length, embed_dim)

    def call(self, inputs):
        positions = ops.arange(0, ops.shape(inputs)[-1], 1)
        return self.token_embeddings(inputs) + self.position_embeddings(positions)


def test_outside_a_traced_call_the_length_is_none():
    """At the functional level Keras gives None for an unknown axis; inside call() its torch
    backend gives a placeholder length, eigennet a VariableLength."""
    assert ops.shape(keras.Input((None, 3))) == (None, None, 3)


def test_position_embeddings_at_any_length():
    inputs = keras.Input((None,), dtype="int64")
    embedding = PositionalEmbedding(10, 20, 4)
    model = keras.Model(inputs, embedding(inputs))
    assert model.output_shape == (None, None, 4)
    tokens = embedding.token_embeddings.embeddings.numpy()
    positions = embedding.position_embeddings.embeddings.numpy()
    for length in (3, 7, 10):
        x = np.random.default_rng(length).integers(0, 20, size=(2, length))
        np.testing.assert_allclose(
            model.predict(x, verbose=0), tokens[x] + positions[:length], rtol=1e-6
        )


class CausalMix(layers.Layer):
    """keras-io's causal mask: arange, comparisons, reshape to (1, T, T), tile to the batch."""

    def call(self, x):
        input_shape = ops.shape(x)
        batch_size, n = input_shape[0], input_shape[1]
        i = ops.arange(n)[:, None]
        j = ops.arange(n)
        mask = ops.reshape(ops.cast(i >= j, "int32"), (1, input_shape[1], input_shape[1]))
        mult = ops.concatenate(
            [ops.expand_dims(batch_size, -1), ops.convert_to_tensor([1, 1])], axis=0
        )
        return ops.matmul(ops.cast(ops.tile(mask, mult), x.dtype), x)


def test_causal_mask_at_any_length_and_its_gradient():
    inputs = keras.Input((None, 3))
    hidden = layers.Dense(3, name="d")(inputs)
    model = keras.Model(inputs, CausalMix()(hidden))
    dense = model.get_layer("d")
    for length in (2, 5, 9):
        x = np.random.default_rng(length).normal(size=(4, length, 3)).astype("float32")
        h = x @ dense.kernel.numpy() + dense.bias.numpy()
        np.testing.assert_allclose(
            model.predict(x, verbose=0), np.tril(np.ones((length, length))) @ h, atol=1e-5
        )
    model.compile("sgd", "mse")
    model.fit(np.ones((4, 6, 3), np.float32), np.zeros((4, 6, 3)), verbose=0)


def test_length_in_ops_indexing_and_errors():
    class Scaled(layers.Layer):
        def call(self, x):
            length = ops.shape(x)[1]
            return x[:, :, 0] / ops.cast(length, x.dtype) + (length - 1) * 0.0

    inputs = keras.Input((None, 2))
    model = keras.Model(inputs, Scaled()(inputs))
    x = np.ones((2, 4, 2), np.float32)
    np.testing.assert_allclose(model.predict(x, verbose=0), np.full((2, 4), 0.25))

    class Bad(layers.Layer):
        def __init__(self, how, **kwargs):
            super().__init__(**kwargs)
            self.how = how

        def call(self, x):
            length = ops.shape(x)[1]
            if self.how == "int":
                return x * int(length)
            if self.how == "arange":
                return x + ops.arange(1, length)[None, :, None]
            return x[:, 1:]

    for how, error, match in (
        ("int", TypeError, "variable length"),
        ("arange", NotImplementedError, "arange\\(length\\) and arange\\(0, length\\)"),
        ("slice", IndexError, "of variable length, is not supported"),
    ):
        with pytest.raises(error, match=match):
            Bad(how)(keras.Input((None, 2)))


def test_attention_masks_over_variable_lengths():
    """A padding mask (B, 1, S) and a full (B, T, S) mask on sequences of any length."""
    query = keras.Input((None, 8))
    padding = keras.Input((1, None))
    attention = layers.MultiHeadAttention(2, 4)
    model = keras.Model([query, padding], attention(query, query, attention_mask=padding))
    full_query = keras.Input((None, 8))
    full_mask = keras.Input((None, None))
    full = keras.Model(
        [full_query, full_mask], attention(full_query, full_query, attention_mask=full_mask)
    )
    for length in (3, 6):
        x = np.random.default_rng(length).normal(size=(2, length, 8)).astype("float32")
        keep = np.ones((2, 1, length), np.float32)
        keep[:, :, -1] = 0
        eager = attention(x, x, attention_mask=keep.astype(bool))
        np.testing.assert_allclose(model.predict([x, keep], verbose=0), eager, atol=1e-5)
        pairs = np.broadcast_to(keep, (2, length, length)).copy()
        np.testing.assert_allclose(full.predict([x, pairs], verbose=0), eager, atol=1e-5)


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
