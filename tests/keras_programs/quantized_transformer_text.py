"""Post-training int8 quantization of a small Transformer text classifier.

A functional model in the style of keras-io's transformer examples — token and learned
position embeddings, `layers.MultiHeadAttention`, a feed-forward block written with
`layers.EinsumDense`, layer normalization and pooling — is trained in float32 on synthetic
reviews; `model.quantize("int8")` then quantizes the attention's projections, the
EinsumDense and Dense kernels and the embeddings, as Keras does. Predictions keep their
class, and the int8 weights saved to a `.weights.h5` file load into the same model,
quantized, giving the same predictions.

A review is a sequence of word ids (0 pads the end) with 1, 3 or 5 sentiment words; it is
positive when most of them are positive.
"""

import os
import tempfile
import warnings

import numpy as np

import eigennet as keras
from eigennet import layers

keras.utils.set_random_seed(3)

VOCAB_SIZE, MAXLEN, EMBED = 160, 20, 32
POSITIVE, NEGATIVE = np.arange(1, 16), np.arange(16, 31)


def make_reviews(n, rng):
    x = np.zeros((n, MAXLEN), dtype="int32")
    y = np.zeros(n, dtype="int32")
    for i in range(n):
        length = rng.integers(8, MAXLEN + 1)
        words = rng.integers(31, VOCAB_SIZE, size=length)
        count = rng.choice([1, 3, 5])
        positive = rng.integers(0, count + 1)
        sentiment = np.concatenate(
            [rng.choice(POSITIVE, positive), rng.choice(NEGATIVE, count - positive)]
        )
        words[rng.choice(length, size=count, replace=False)] = sentiment
        x[i, :length] = words
        y[i] = int(2 * positive > count)
    return x, y


rng = np.random.default_rng(3)
x_train, y_train = make_reviews(2500, rng)
x_test, y_test = make_reviews(500, rng)


@keras.saving.register_keras_serializable(package="quantized_transformer")
class PositionEmbedding(layers.Layer):
    """Adds a learned vector per position (as keras-hub's PositionEmbedding)."""

    def build(self, input_shape):
        self.positions = self.add_weight(
            shape=tuple(input_shape[1:]), initializer="glorot_uniform", name="positions"
        )

    def call(self, x):
        return x + self.positions


def build_model():
    tokens = layers.Input(shape=(MAXLEN,), dtype="int32")
    x = PositionEmbedding()(layers.Embedding(VOCAB_SIZE, EMBED)(tokens))
    attention = layers.MultiHeadAttention(num_heads=2, key_dim=16, name="attention")(x, x)
    x = layers.LayerNormalization(epsilon=1e-6)(layers.Add()([x, attention]))
    hidden = layers.EinsumDense("btd,df->btf", (MAXLEN, 64), bias_axes="f", activation="relu")(x)
    projected = layers.EinsumDense("btf,fd->btd", (MAXLEN, EMBED), bias_axes="d", name="ffn_out")(
        hidden
    )
    x = layers.LayerNormalization(epsilon=1e-6)(layers.Add()([x, projected]))
    x = layers.GlobalAveragePooling1D()(x)
    outputs = layers.Dense(2, activation="softmax")(x)
    return keras.Model(tokens, outputs)


def quantize(model):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # layers without quantize() (normalization...) warn
        model.quantize("int8")


model = build_model()
model.compile(
    optimizer=keras.optimizers.Adam(2e-3),
    loss="sparse_categorical_crossentropy",
    metrics=["accuracy"],
)
model.fit(x_train, y_train, batch_size=32, epochs=8, verbose=0)
_, float_accuracy = model.evaluate(x_test, y_test, verbose=0)
float_classes = model.predict(x_test, verbose=0).argmax(-1)

quantize(model)
attention = model.get_layer("attention")
print("attention policy:", attention.dtype_policy.name)
dtypes = {w.path: str(w.dtype) for w in attention.weights}
assert dtypes["attention/query/kernel"] == "int8", dtypes
assert dtypes["attention/query/kernel_scale"] == "float32", dtypes
assert model.get_layer("ffn_out").kernel.dtype == "int8"

int8_classes = model.predict(x_test, verbose=0).argmax(-1)
agreement = float((int8_classes == float_classes).mean())
_, int8_accuracy = model.evaluate(x_test, y_test, verbose=0)
print(f"accuracy float32 {float_accuracy:.4f}, int8 {int8_accuracy:.4f}; agreement {agreement:.4f}")
assert float_accuracy > 0.9, float_accuracy
assert agreement >= 0.98, agreement
assert abs(int8_accuracy - float_accuracy) < 0.02

# Keras saves a quantized attention layer with its float policy (and cannot load the whole
# model back), so the weights travel on their own: into the same model, quantized.
with tempfile.TemporaryDirectory() as folder:
    path = os.path.join(folder, "transformer_int8.weights.h5")
    model.save_weights(path)
    restored = build_model()
    quantize(restored)
    restored.load_weights(path)
np.testing.assert_allclose(
    restored.predict(x_test, verbose=0), model.predict(x_test, verbose=0), atol=1e-6
)
print("OK")
