"""Sequences of different lengths, padded and masked.

Written in the style of Keras's guide "Understanding masking & padding": lists of word ids of
different lengths are padded with `keras.utils.pad_sequences`, an `Embedding(mask_zero=True)`
tells the layers after it which steps are padding, and a custom layer receives the mask in its
`call`. A second model masks padded steps of float features with `layers.Masking`. The data is
synthetic: a sequence is positive when it holds more "up" words (ids 1-5) than "down" words
(ids 6-10); the other words (11-49) carry nothing.
"""

import numpy as np

import eigennet as keras
from eigennet import layers, ops

keras.utils.set_random_seed(5)
rng = np.random.default_rng(5)


def make_sequences(n):
    sequences, labels = [], []
    while len(sequences) < n:
        length = int(rng.integers(3, 25))
        words = rng.integers(11, 50, size=length)
        up, down = rng.integers(0, 4, size=2)
        if up == down or up + down > length:
            continue
        slots = rng.choice(length, size=up + down, replace=False)
        words[slots[:up]] = rng.integers(1, 6, size=up)
        words[slots[up:]] = rng.integers(6, 11, size=down)
        sequences.append(words.tolist())
        labels.append(float(up > down))
    return sequences, np.array(labels, dtype="float32")


raw_train, y_train = make_sequences(1500)
raw_test, y_test = make_sequences(300)
x_train = keras.utils.pad_sequences(raw_train, padding="post")
x_test = keras.utils.pad_sequences(raw_test, maxlen=x_train.shape[1], padding="post")
print("padded training data:", x_train.shape)


class TemporalMean(layers.Layer):
    """The mean over the unmasked steps: Keras passes the mask to call()."""

    def call(self, inputs, mask=None):
        weights = ops.expand_dims(ops.cast(mask, inputs.dtype), -1)
        return ops.sum(inputs * weights, axis=1) / ops.maximum(ops.sum(weights, axis=1), 1.0)


# ## A masked embedding feeding an LSTM and a custom layer

inputs = keras.Input(shape=(None,), dtype="int32")
embedded = layers.Embedding(input_dim=50, output_dim=16, mask_zero=True)(inputs)
sequence = layers.LSTM(16, return_sequences=True)(embedded)
pooled = TemporalMean()(sequence)
outputs = layers.Dense(1, activation="sigmoid")(pooled)
model = keras.Model(inputs, outputs)
model.compile(
    optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy", metrics=["accuracy"]
)
history = model.fit(x_train, y_train, batch_size=32, epochs=8, verbose=0)
print("loss by epoch:", [round(v, 3) for v in history.history["loss"]])
_, accuracy = model.evaluate(x_test, y_test, verbose=0)
print(f"test accuracy: {accuracy:.3f}")
assert accuracy > 0.85, accuracy

# Padding is invisible to the model: more padding gives the same predictions.
longer = keras.utils.pad_sequences(raw_test, maxlen=x_train.shape[1] + 7, padding="post")
np.testing.assert_allclose(
    model.predict(x_test, verbose=0), model.predict(longer, verbose=0), rtol=1e-5, atol=1e-6
)

# ## Masking padded steps of float features

features = np.zeros((len(raw_train), x_train.shape[1], 2), dtype="float32")
for i, words in enumerate(raw_train):
    ids = np.array(words)
    features[i, : len(ids), 0] = (ids <= 5) & (ids >= 1)
    features[i, : len(ids), 1] = (ids >= 6) & (ids <= 10)
masked_model = keras.Sequential(
    [
        keras.Input(shape=(None, 2)),
        layers.Masking(mask_value=0.0),
        layers.GRU(8),
        layers.Dense(1, activation="sigmoid"),
    ]
)
masked_model.compile(optimizer=keras.optimizers.Adam(0.02), loss="binary_crossentropy")
masked_history = masked_model.fit(features, y_train, batch_size=32, epochs=6, verbose=0)
print("masked GRU loss by epoch:", [round(v, 3) for v in masked_history.history["loss"]])
assert masked_history.history["loss"][-1] < 0.5 * masked_history.history["loss"][0]

print("OK")
