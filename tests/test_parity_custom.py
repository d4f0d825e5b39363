"""Parity with Keras 3 (torch backend) for custom layers and subclassed models (issue 14): the
same code run by both libraries (`k` is eigennet or keras), the same initial weights, three
epochs without shuffling; the histories, trained weights and predictions must agree."""

import math
import os

import numpy as np
import pytest

os.environ["KERAS_BACKEND"] = "torch"
pytest.importorskip("torch")
keras_ref = pytest.importorskip("keras")

import eigennet  # noqa: E402
from keras_parity import assert_trains_like_keras  # noqa: E402

RNG = np.random.default_rng(14)


def custom_dense(k):
    class MyDense(k.layers.Layer):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = units

        def build(self, input_shape):
            self.kernel = self.add_weight(
                shape=(input_shape[-1], self.units), initializer="glorot_uniform", name="kernel"
            )
            self.bias = self.add_weight(shape=(self.units,), initializer="zeros", name="bias")

        def call(self, inputs):
            return k.ops.relu(k.ops.matmul(inputs, self.kernel) + self.bias)

    inputs = k.Input((6,))
    x = MyDense(8)(inputs)
    x = MyDense(8)(x)
    model = k.Model(inputs, k.layers.Dense(3, activation="softmax")(x))
    model.compile(
        optimizer=k.optimizers.Adam(0.01),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model, RNG.normal(size=(32, 6)), RNG.integers(0, 3, 32)


def token_and_position_embedding(k):
    maxlen, vocab, dim = 7, 20, 4

    class TokenAndPositionEmbedding(k.layers.Layer):
        def __init__(self, maxlen, vocab_size, embed_dim, **kwargs):
            super().__init__(**kwargs)
            self.token_emb = k.layers.Embedding(input_dim=vocab_size, output_dim=embed_dim)
            self.pos_emb = k.layers.Embedding(input_dim=maxlen, output_dim=embed_dim)

        def call(self, x):
            length = k.ops.shape(x)[-1]
            positions = k.ops.arange(start=0, stop=length, step=1)
            return self.token_emb(x) + self.pos_emb(positions)

    inputs = k.Input((maxlen,))
    x = TokenAndPositionEmbedding(maxlen, vocab, dim)(inputs)
    x = k.layers.GlobalAveragePooling1D()(x)
    model = k.Model(inputs, k.layers.Dense(1, activation="sigmoid")(x))
    model.compile(optimizer=k.optimizers.Adam(0.01), loss="binary_crossentropy")
    x = RNG.integers(0, vocab, (32, maxlen)).astype("float32")
    return model, x, RNG.integers(0, 2, (32, 1)).astype("float32")


def subclassed_model(k):
    class Residual(k.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.hidden = k.layers.Dense(5, activation="tanh")
            self.block = k.layers.Dense(5)
            self.head = k.layers.Dense(2)

        def call(self, inputs, training=None):
            h = self.hidden(inputs)
            h = h + k.ops.tanh(self.block(h))
            return self.head(h - k.ops.mean(h, axis=-1, keepdims=True))

    model = Residual()
    model.compile(optimizer=k.optimizers.SGD(0.05, momentum=0.9), loss="mse", metrics=["mae"])
    x = RNG.normal(size=(32, 4))
    model(x[:2])  # builds the weights before they are copied
    return model, x, RNG.normal(size=(32, 2))


CASES = [
    custom_dense,
    token_and_position_embedding,
    subclassed_model,
]


@pytest.mark.parametrize("make", CASES, ids=["custom_dense", "token_and_position", "subclassed"])
def test_custom_model_trains_like_keras(make):
    ours, x, y = make(eigennet)
    theirs, _, _ = make(keras_ref)
    assert [w.shape for w in ours.get_weights()] == [tuple(w.shape) for w in theirs.get_weights()]
    theirs.set_weights(ours.get_weights())
    assert_trains_like_keras(ours, theirs, x, y)


def _custom_loss_model(k, kind):
    def scaled_mse(y_true, y_pred):
        return k.ops.mean(k.ops.square(y_true - y_pred) * 2.0, axis=-1)

    class LogCoshLoss(k.losses.Loss):
        def call(self, y_true, y_pred):
            d = y_pred - y_true
            return k.ops.mean(d + k.ops.softplus(-2.0 * d) - math.log(2.0), axis=-1)

    inputs = k.Input((4,))
    model = k.Model(inputs, k.layers.Dense(2)(inputs))
    loss = scaled_mse if kind == "function" else LogCoshLoss()
    model.compile(optimizer=k.optimizers.Adam(0.01), loss=loss)
    return model, RNG.normal(size=(32, 4)), RNG.normal(size=(32, 2))


@pytest.mark.parametrize("kind", ["function", "loss_subclass"])
def test_custom_python_loss_trains_like_keras(kind):
    ours, x, y = _custom_loss_model(eigennet, kind)
    theirs, _, _ = _custom_loss_model(keras_ref, kind)
    theirs.set_weights(ours.get_weights())
    assert_trains_like_keras(ours, theirs, x, y)


def _custom_metric_model(k):
    class MeanAbsError(k.metrics.Metric):
        def __init__(self, name="my_mae", **kwargs):
            super().__init__(name=name, **kwargs)
            self.total = self.add_variable(shape=(), initializer="zeros", name="total")
            self.count = self.add_variable(shape=(), initializer="zeros", name="count")

        def update_state(self, y_true, y_pred, sample_weight=None):
            err = k.ops.abs(k.ops.cast(y_true, "float32") - y_pred)
            self.total.assign(self.total + k.ops.sum(err))
            self.count.assign(self.count + k.ops.cast(k.ops.size(err), "float32"))

        def result(self):
            return self.total / self.count

    inputs = k.Input((4,))
    model = k.Model(inputs, k.layers.Dense(2)(inputs))
    model.compile(optimizer=k.optimizers.Adam(0.01), loss="mse", metrics=[MeanAbsError()])
    return model, RNG.normal(size=(32, 4)), RNG.normal(size=(32, 2))


def test_custom_metric_trains_like_keras():
    ours, x, y = _custom_metric_model(eigennet)
    theirs, _, _ = _custom_metric_model(keras_ref)
    theirs.set_weights(ours.get_weights())
    assert_trains_like_keras(ours, theirs, x, y)
