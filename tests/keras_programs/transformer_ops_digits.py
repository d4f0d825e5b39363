"""A small transformer encoder written as custom layers with keras.ops, in the style of Keras's
guide "Making new layers and models via subclassing" and keras-io's text-classification
transformer: each 8x8 digit image is a sequence of 8 rows (tokens of 8 pixels); a learned
positional embedding made with add_weight, multi-head self-attention written from
ops.matmul / ops.softmax / ops.transpose / ops.reshape, a feed-forward block, layer
normalization, then mean pooling over the tokens and a softmax classifier."""

import math

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import eigennet as keras
from eigennet import layers, ops

keras.utils.set_random_seed(11)


@keras.saving.register_keras_serializable(package="transformer")
class PatchEmbedding(layers.Layer):
    """Projects each token and adds a learned embedding of its position."""

    def __init__(self, dim, **kwargs):
        super().__init__(**kwargs)
        self.dim = dim
        self.projection = layers.Dense(dim)

    def build(self, input_shape):
        self.position = self.add_weight(
            shape=(input_shape[1], self.dim), initializer="random_normal", name="position"
        )

    def call(self, tokens):
        return self.projection(tokens) + self.position  # (B, T, D) + (T, D)

    def get_config(self):
        return {**super().get_config(), "dim": self.dim}


@keras.saving.register_keras_serializable(package="transformer")
class SelfAttention(layers.Layer):
    """Multi-head scaled dot-product self-attention from ops."""

    def __init__(self, dim, heads, **kwargs):
        super().__init__(**kwargs)
        self.dim, self.heads = dim, heads
        self.head_dim = dim // heads
        self.query = layers.Dense(dim)
        self.key = layers.Dense(dim)
        self.value = layers.Dense(dim)
        self.out = layers.Dense(dim)

    def split_heads(self, x, length):
        x = ops.reshape(x, (-1, length, self.heads, self.head_dim))
        return ops.transpose(x, (0, 2, 1, 3))  # (B, heads, T, head_dim)

    def call(self, x):
        length = x.shape[1]
        q = self.split_heads(self.query(x), length)
        k = self.split_heads(self.key(x), length)
        v = self.split_heads(self.value(x), length)
        scores = ops.matmul(q, ops.transpose(k, (0, 1, 3, 2))) / math.sqrt(self.head_dim)
        weights = ops.softmax(scores, axis=-1)  # (B, heads, T, T)
        attended = ops.transpose(ops.matmul(weights, v), (0, 2, 1, 3))
        return self.out(ops.reshape(attended, (-1, length, self.dim)))

    def get_config(self):
        return {**super().get_config(), "dim": self.dim, "heads": self.heads}


@keras.saving.register_keras_serializable(package="transformer")
class TransformerBlock(layers.Layer):
    def __init__(self, dim, heads, ff_dim, **kwargs):
        super().__init__(**kwargs)
        self.dim, self.heads, self.ff_dim = dim, heads, ff_dim
        self.attention = SelfAttention(dim, heads)
        self.ff_1 = layers.Dense(ff_dim, activation="relu")
        self.ff_2 = layers.Dense(dim)
        self.norm_1 = layers.LayerNormalization(epsilon=1e-6)
        self.norm_2 = layers.LayerNormalization(epsilon=1e-6)

    def call(self, x):
        x = self.norm_1(x + self.attention(x))
        return self.norm_2(x + self.ff_2(self.ff_1(x)))

    def get_config(self):
        return {**super().get_config(), "dim": self.dim, "heads": self.heads,
                "ff_dim": self.ff_dim}  # fmt: skip


# The attention layer on arrays computes what its formula says.
attention = SelfAttention(4, 2)
sample = np.random.default_rng(0).normal(size=(2, 3, 4)).astype("float32")
got = ops.convert_to_numpy(attention(sample))


def dense(layer, x):
    kernel, bias = (ops.convert_to_numpy(w) for w in layer.weights)
    return x @ kernel + bias


def heads(x):
    return x.reshape(2, 3, 2, 2).transpose(0, 2, 1, 3)


q, k, v = (heads(dense(lay, sample)) for lay in (attention.query, attention.key, attention.value))
scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(2)
probabilities = np.exp(scores - scores.max(axis=-1, keepdims=True))
probabilities /= probabilities.sum(axis=-1, keepdims=True)
expected = dense(attention.out, (probabilities @ v).transpose(0, 2, 1, 3).reshape(2, 3, 4))
np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)

digits = load_digits()
images = (digits.images / 16.0).astype("float32")  # (n, 8, 8): 8 tokens of 8 pixels
x_train, x_test, y_train, y_test = train_test_split(
    images, digits.target, test_size=0.25, random_state=0
)

inputs = keras.Input(shape=(8, 8), name="rows")
x = PatchEmbedding(32)(inputs)
x = TransformerBlock(32, heads=4, ff_dim=64)(x)
x = ops.mean(x, axis=1)  # pool over the tokens
x = layers.Dropout(0.1)(x)
outputs = layers.Dense(10, activation="softmax")(x)
model = keras.Model(inputs, outputs, name="row_transformer")
model.summary()

model.compile(
    optimizer=keras.optimizers.Adam(2e-3),
    loss="sparse_categorical_crossentropy",
    metrics=["accuracy"],
)
history = model.fit(x_train, y_train, batch_size=32, epochs=20, validation_split=0.1, verbose=0)
assert history.history["loss"][-1] < 0.3 * history.history["loss"][0], history.history["loss"]
loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
print(f"test accuracy {accuracy:.3f}")
assert accuracy > 0.85, accuracy

model.save("row_transformer.keras")
reloaded = keras.models.load_model("row_transformer.keras")
np.testing.assert_allclose(
    reloaded.predict(x_test, verbose=0), model.predict(x_test, verbose=0), rtol=1e-4, atol=1e-5
)
print("OK")
