"""Text classification end to end on raw strings (keras-io "Text classification from
scratch", vectorization inside the model): keras.Input(shape=(1,), dtype="string") feeds a
TextVectorization layer adapted on the training texts, then Embedding, GlobalAveragePooling1D
and Dense classify. fit, evaluate and predict take the strings; the saved model too.

The corpus is synthetic: sentences of neutral words with a few words that are typical of
one of two topics ("sport" or "cooking"); the label is the topic."""

import os
import tempfile

import numpy as np

import eigennet as keras
from eigennet import layers

keras.utils.set_random_seed(3)
rng = np.random.default_rng(3)

NEUTRAL = "the a today we they it was very some and then after before with".split()
SPORT = "match goal team player score coach league ball stadium referee".split()
COOKING = "recipe oven flour sauce garlic bake chef onion pepper butter".split()


def make_corpus(n):
    texts, labels = [], []
    for _ in range(n):
        label = int(rng.integers(0, 2))
        topic = SPORT if label == 0 else COOKING
        words = list(rng.choice(NEUTRAL, rng.integers(4, 9)))
        for word in rng.choice(topic, rng.integers(1, 4)):
            words.insert(int(rng.integers(0, len(words) + 1)), word)
        text = " ".join(words).capitalize() + rng.choice([".", "!", "?"])
        texts.append(text)
        labels.append(label)
    return np.array(texts), np.array(labels)


x_train, y_train = make_corpus(400)
x_test, y_test = make_corpus(100)

vectorize = layers.TextVectorization(max_tokens=60, output_mode="int", output_sequence_length=16)
vectorize.adapt(x_train)

inputs = keras.Input(shape=(1,), dtype="string")
x = vectorize(inputs)
x = layers.Embedding(60, 16)(x)
x = layers.GlobalAveragePooling1D()(x)
x = layers.Dense(16, activation="relu")(x)
outputs = layers.Dense(1, activation="sigmoid")(x)
model = keras.Model(inputs, outputs)
model.compile(
    optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy", metrics=["accuracy"]
)
model.fit(x_train[:, None], y_train, epochs=15, batch_size=32, validation_split=0.1, verbose=0)
loss, accuracy = model.evaluate(x_test[:, None], y_test, verbose=0)
print("test accuracy:", round(float(accuracy), 3))
assert accuracy > 0.9, accuracy

samples = np.array([["The chef put butter in the oven."], ["A goal for the team!"]])
scores = np.asarray(model.predict(samples, verbose=0)).ravel()
assert scores[0] > 0.5 > scores[1], scores  # cooking is label 1

with tempfile.TemporaryDirectory() as folder:
    path = os.path.join(folder, "text_model.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    again = np.asarray(loaded.predict(samples, verbose=0)).ravel()
np.testing.assert_allclose(again, scores, rtol=1e-5)
print("OK")
