"""A bidirectional LSTM text classifier on variable-length sequences of word ids.

Written as in keras-io's "Bidirectional LSTM on IMDB" example: `keras.Input(shape=(None,),
dtype="int32")`, an Embedding, two stacked `Bidirectional(LSTM)` layers and a sigmoid head.
The reviews are synthetic: a review is positive when it holds more "good" words (ids 2-9)
than "bad" ones (ids 10-17). Trained on reviews padded to 30 words, then run on reviews of
other lengths, which a model with a variable-length input accepts.
"""

import numpy as np

import eigennet as keras
from eigennet import layers

keras.utils.set_random_seed(21)
rng = np.random.default_rng(21)

max_features = 100  # Only consider the top 100 words
maxlen = 30  # Train on reviews of 30 words


def make_reviews(n, length):
    words = rng.integers(18, max_features, size=(n, length))
    good = rng.integers(0, 4, size=n)
    bad = rng.integers(0, 4, size=n)
    for i in range(n):
        slots = rng.choice(length, size=good[i] + bad[i], replace=False)
        words[i, slots[: good[i]]] = rng.integers(2, 10, size=good[i])
        words[i, slots[good[i] :]] = rng.integers(10, 18, size=bad[i])
    keep = good != bad  # no ties
    return words[keep].astype("int32"), (good > bad)[keep].astype("float32")


x_train, y_train = make_reviews(2000, maxlen)
x_val, y_val = make_reviews(400, maxlen)
print(len(x_train), "training sequences,", len(x_val), "validation sequences")

# ## Model

# Input for variable-length sequences of integers
inputs = keras.Input(shape=(None,), dtype="int32")
# Embed each integer in a 32-dimensional vector
x = layers.Embedding(max_features, 32)(inputs)
# Add 2 bidirectional LSTMs
x = layers.Bidirectional(layers.LSTM(16, return_sequences=True))(x)
x = layers.Bidirectional(layers.LSTM(16))(x)
# Add a classifier
outputs = layers.Dense(1, activation="sigmoid")(x)
model = keras.Model(inputs, outputs)
model.summary()
assert model.input_shape == (None, None)
assert model.layers[2].output.shape == (None, None, 32)  # forward and backward: 2 x 16
assert model.layers[3].output.shape == (None, 32)

model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
history = model.fit(
    x_train, y_train, batch_size=32, epochs=6, validation_data=(x_val, y_val), verbose=2
)
assert history.history["loss"][-1] < 0.5 * history.history["loss"][0], history.history["loss"]
assert history.history["val_accuracy"][-1] > 0.85, history.history["val_accuracy"]

# ## Reviews of other lengths

for length in (12, 45):
    x_other, y_other = make_reviews(300, length)
    predictions = model.predict(x_other, verbose=0)
    assert predictions.shape == (len(x_other), 1)
    accuracy = np.mean((predictions[:, 0] > 0.5) == (y_other == 1))
    print(f"reviews of {length} words: accuracy {accuracy:.3f}")
    assert accuracy > 0.75, (length, accuracy)

print("OK")
