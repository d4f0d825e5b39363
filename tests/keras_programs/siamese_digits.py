"""A siamese network telling whether two 8x8 digits (scikit-learn's `load_digits`) are the same.

One embedding network (a `keras.Model`) and one projection layer are shared by both branches,
so both images are embedded with the same weights. The branches meet in two merges: the
squared difference of the embeddings (`layers.subtract`, then `layers.multiply`) and their
cosine similarity (`layers.Dot(axes=1, normalize=True)`), concatenated under a logistic head.
"""

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import eigennet as keras
from eigennet import layers

keras.utils.set_random_seed(11)
rng = np.random.default_rng(11)

digits = load_digits()
images = (digits.images / 16.0).astype("float32")[..., np.newaxis]
x_train, x_test, y_train, y_test = train_test_split(
    images, digits.target, test_size=0.3, random_state=2, stratify=digits.target
)

# ## Pairs: for every image, one partner of the same class and one of another class


def make_pairs(x, y):
    by_class = [np.flatnonzero(y == c) for c in range(10)]
    first, second, labels = [], [], []
    for i, label in enumerate(y):
        first.append(i)
        second.append(rng.choice(by_class[label]))
        labels.append(1.0)
        other = (label + rng.integers(1, 10)) % 10
        first.append(i)
        second.append(rng.choice(by_class[other]))
        labels.append(0.0)
    return x[first], x[second], np.array(labels, dtype="float32")


x_train_1, x_train_2, labels_train = make_pairs(x_train, y_train)
x_test_1, x_test_2, labels_test = make_pairs(x_test, y_test)
print("pairs:", x_train_1.shape, x_test_1.shape)

# ## The shared tower

tower_input = keras.Input(shape=(8, 8, 1))
x = layers.Conv2D(16, 3, activation="tanh")(tower_input)
x = layers.AveragePooling2D(pool_size=2)(x)
x = layers.Flatten()(x)
x = layers.Dense(32, activation="tanh")(x)
embedding_network = keras.Model(tower_input, x, name="embedding")

input_1 = keras.Input(shape=(8, 8, 1), name="left")
input_2 = keras.Input(shape=(8, 8, 1), name="right")

# The same model and the same layer on both branches: their weights are shared.
projection = layers.Dense(16, name="projection")
tower_1 = projection(embedding_network(input_1))
tower_2 = projection(embedding_network(input_2))

difference = layers.subtract([tower_1, tower_2])
squared_difference = layers.multiply([difference, difference])
cosine = layers.Dot(axes=1, normalize=True, name="cosine")([tower_1, tower_2])
merged = layers.concatenate([squared_difference, cosine])
output = layers.Dense(1, activation="sigmoid", name="same")(merged)
siamese = keras.Model(inputs=[input_1, input_2], outputs=output, name="siamese")
siamese.summary()

assert cosine.shape == (None, 1)
assert merged.shape == (None, 17)
# Shared weights are counted once.
expected_params = embedding_network.count_params() + (32 * 16 + 16) + (17 + 1)
assert siamese.count_params() == expected_params, (siamese.count_params(), expected_params)

siamese.compile(
    loss="binary_crossentropy", optimizer=keras.optimizers.Adam(2e-3), metrics=["accuracy"]
)
history = siamese.fit(
    [x_train_1, x_train_2],
    labels_train,
    validation_data=([x_test_1, x_test_2], labels_test),
    batch_size=32,
    epochs=15,
    verbose=2,
)
assert history.history["loss"][-1] < history.history["loss"][0]

loss, accuracy = siamese.evaluate([x_test_1, x_test_2], labels_test, verbose=0)
print(f"test loss {loss:.4f}, test pair accuracy {accuracy:.4f}")
assert accuracy > 0.85, accuracy

# ## The model is symmetric: swapping the two images changes nothing

scores = siamese.predict([x_test_1, x_test_2], verbose=0)
swapped = siamese.predict([x_test_2, x_test_1], verbose=0)
assert scores.shape == (len(labels_test), 1)
np.testing.assert_allclose(scores, swapped, rtol=1e-5, atol=1e-6)
same, different = scores[labels_test == 1].mean(), scores[labels_test == 0].mean()
print(f"mean score: same digit {same:.3f}, different digits {different:.3f}")
assert same > different + 0.5

# ## The shared embedding, on its own, separates the classes

embedding_1 = keras.Model(input_1, tower_1)
embedded = embedding_1.predict(x_test, verbose=0)
assert embedded.shape == (len(x_test), 16)
centroids = np.stack([embedded[y_test == c].mean(axis=0) for c in range(10)])
distances = ((embedded[:, None, :] - centroids[None]) ** 2).sum(axis=-1)
nearest_centroid_accuracy = np.mean(distances.argmin(axis=1) == y_test)
print(f"nearest-centroid accuracy in the embedding: {nearest_centroid_accuracy:.3f}")
assert nearest_centroid_accuracy > 0.8

# Both branches give the same embedding: the tower and the projection are shared.
embedding_2 = keras.Model(input_2, tower_2)
np.testing.assert_allclose(embedding_2.predict(x_test, verbose=0), embedded, rtol=1e-6)

print("OK")
