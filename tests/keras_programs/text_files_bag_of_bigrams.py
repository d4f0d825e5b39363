"""Text classification from text files on disk, in the style of keras-io's "text
classification from scratch" and Deep Learning with Python's bag-of-bigrams model: reviews
written as one .txt file each under train/<class>/ and test/<class>/, read with
`text_dataset_from_directory` (a seeded validation split), vectorized with a TextVectorization
adapted on `train_ds.map(lambda x, y: x)`, mapped to TF-IDF bigram vectors, cached, trained
with the best checkpoint kept, reloaded and evaluated; raw strings are then classified.
Run with `import eigennet as keras` (or `import keras`)."""

import os
import tempfile

import numpy as np

import eigennet as keras
from eigennet import layers

keras.utils.set_random_seed(7)
rng = np.random.default_rng(7)
root = tempfile.mkdtemp()

# A small review corpus: each class has its own words, the rest is shared filler.
vocabulary = {
    "pos": ["wonderful", "moving", "brilliant", "charming", "superb", "delight"],
    "neg": ["boring", "dull", "awful", "tedious", "mess", "waste"],
}
filler = ["the", "film", "was", "a", "plot", "and", "actors", "story", "of", "it"]
for split, count in (("train", 150), ("test", 50)):
    for label, words in vocabulary.items():
        folder = os.path.join(root, split, label)
        os.makedirs(folder)
        for i in range(count):
            tokens = list(rng.choice(filler, 14)) + list(rng.choice(words, 3))
            rng.shuffle(tokens)
            with open(os.path.join(folder, f"{i}_review.txt"), "w", encoding="utf-8") as f:
                f.write(" ".join(tokens).capitalize() + ".")
    with open(os.path.join(root, split, "README.md"), "w") as f:
        f.write("not a review")  # not a .txt file: not read

batch_size = 32
train_ds, val_ds = keras.utils.text_dataset_from_directory(
    os.path.join(root, "train"),
    batch_size=batch_size,
    validation_split=0.2,
    subset="both",
    seed=1337,
)
test_ds = keras.utils.text_dataset_from_directory(os.path.join(root, "test"), batch_size=batch_size)
print("classes:", train_ds.class_names)
assert train_ds.class_names == ["neg", "pos"]

for inputs, targets in train_ds:
    print("inputs.shape:", inputs.shape)
    print("targets.shape:", targets.shape)
    print("inputs[0]:", inputs[0])
    print("targets[0]:", targets[0])
    break

text_vectorization = layers.TextVectorization(ngrams=2, max_tokens=2000, output_mode="tf_idf")
text_only_train_ds = train_ds.map(lambda x, y: x)
text_vectorization.adapt(text_only_train_ds)
depth = text_vectorization.vocabulary_size()
print("vocabulary size:", depth)

tfidf_train_ds = train_ds.map(lambda x, y: (text_vectorization(x), y), num_parallel_calls=4)
tfidf_val_ds = val_ds.map(lambda x, y: (text_vectorization(x), y), num_parallel_calls=4)
tfidf_test_ds = test_ds.map(lambda x, y: (text_vectorization(x), y), num_parallel_calls=4)


def get_model(max_tokens, hidden_dim=16):
    inputs = keras.Input(shape=(max_tokens,))
    x = layers.Dense(hidden_dim, activation="relu")(inputs)
    x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(1, activation="sigmoid")(x)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["accuracy"])
    return model


model = get_model(depth)
model.summary()
checkpoint = os.path.join(root, "tfidf_2gram.keras")
callbacks = [keras.callbacks.ModelCheckpoint(checkpoint, save_best_only=True)]
history = model.fit(
    tfidf_train_ds.cache(),
    validation_data=tfidf_val_ds.cache().prefetch(4),
    epochs=10,
    callbacks=callbacks,
    verbose=2,
)
model = keras.models.load_model(checkpoint)
test_accuracy = model.evaluate(tfidf_test_ds, verbose=0)[1]
print(f"Test acc: {test_accuracy:.3f}")
assert test_accuracy >= 0.9

raw_texts = np.array(["A wonderful, moving story.", "Dull and tedious, a waste of it."])
scores = model.predict(text_vectorization(raw_texts), verbose=0)[:, 0]
print("positive scores:", np.round(scores, 3))
assert scores[0] > 0.5 > scores[1]
print("OK")
