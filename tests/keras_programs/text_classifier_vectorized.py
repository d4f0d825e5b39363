"""Text classification from raw strings: a TextVectorization layer adapted on the training
texts turns sentences into padded token ids (applied to the data before fit, as Keras's
guides do), then Embedding + GlobalAveragePooling1D + Dense classify them.

The corpus is synthetic: sentences of neutral words with a few words that are typical of
one of two topics ("sport" or "cooking"); the label is the topic."""

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
vocabulary = vectorize.get_vocabulary()
assert vocabulary[:2] == ["", "[UNK]"], vocabulary[:5]
assert "the" in vocabulary and "Match" not in vocabulary  # lowercased, punctuation stripped

train_ids = np.asarray(vectorize(x_train))
test_ids = np.asarray(vectorize(x_test))
assert train_ids.shape == (400, 16)

inputs = keras.Input(shape=(16,))
x = layers.Embedding(len(vocabulary), 16)(inputs)
x = layers.GlobalAveragePooling1D()(x)
x = layers.Dense(16, activation="relu")(x)
outputs = layers.Dense(1, activation="sigmoid")(x)
model = keras.Model(inputs, outputs)
model.compile(
    optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy", metrics=["accuracy"]
)
model.fit(train_ids, y_train, epochs=15, batch_size=32, verbose=0)
loss, accuracy = model.evaluate(test_ids, y_test, verbose=0)
print("test accuracy:", round(float(accuracy), 3))
assert accuracy > 0.9, accuracy
print("OK")
