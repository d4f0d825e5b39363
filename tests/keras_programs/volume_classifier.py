"""A small 3-D CNN that tells a cube from a ball in synthetic 16x16x16 volumes (a stand-in for
scans), in the style of keras-io's "3D image classification from CT scans": Conv3D +
MaxPooling3D blocks, global pooling, a dense head.

Each volume holds one bright solid, a cube or a ball of random size and position, in noise.
Sizes are drawn so that the two classes overlap in total brightness: the network must learn
shape (flat faces and corners), not just how much of the volume is lit. The model must reach a
clear test accuracy, and give the same predictions after a save and reload.
"""

import os
import tempfile

import numpy as np

import eigennet as keras
from eigennet import layers

keras.utils.set_random_seed(3)
SIZE = 16


def make_volumes(n, seed):
    """n volumes (n, 16, 16, 16, 1) and labels: 0 = cube, 1 = ball."""
    rng = np.random.default_rng(seed)
    grid = np.stack(np.meshgrid(*[np.arange(SIZE)] * 3, indexing="ij"), axis=-1).astype("float32")
    labels = rng.integers(0, 2, size=n)
    volumes = rng.normal(0.0, 0.3, size=(n, SIZE, SIZE, SIZE)).astype("float32")
    for i, label in enumerate(labels):
        radius = rng.uniform(3.0, 5.5)
        center = rng.uniform(radius, SIZE - 1 - radius, size=3)
        offset = np.abs(grid - center)
        if label == 0:  # the cube around the ball (about twice its volume)
            inside = offset.max(axis=-1) <= radius
        else:
            inside = np.sqrt((offset**2).sum(axis=-1)) <= radius
        volumes[i][inside] += 1.0
    return volumes[..., None], labels


x_train, y_train = make_volumes(320, seed=0)
x_test, y_test = make_volumes(120, seed=1)

inputs = keras.Input(shape=(SIZE, SIZE, SIZE, 1))
x = layers.Conv3D(8, 3, padding="same", activation="relu")(inputs)
x = layers.MaxPooling3D(2)(x)
x = layers.Conv3D(16, 3, padding="same", activation="relu")(x)
x = layers.MaxPooling3D(2)(x)
x = layers.Conv3D(16, 3, activation="relu")(x)
x = layers.GlobalMaxPooling3D()(x)
x = layers.Dense(16, activation="relu")(x)
outputs = layers.Dense(2, activation="softmax")(x)
model = keras.Model(inputs, outputs, name="volume_cnn")
model.summary()

assert model.layers[1].kernel.shape == (3, 3, 3, 1, 8)  # (depth, rows, cols, in, filters)
assert model.layers[2].output.shape == (None, 8, 8, 8, 8)
assert model.layers[5].output.shape == (None, 2, 2, 2, 16)

model.compile(
    optimizer=keras.optimizers.Adam(learning_rate=3e-3),
    loss="sparse_categorical_crossentropy",
    metrics=["accuracy"],
)
history = model.fit(x_train, y_train, epochs=12, batch_size=16, validation_split=0.1, verbose=2)
loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
print(f"test accuracy: {accuracy:.3f}")
assert accuracy >= 0.9, accuracy
assert history.history["loss"][-1] < history.history["loss"][0]

path = os.path.join(tempfile.mkdtemp(), "volume_cnn.keras")
model.save(path)
reloaded = keras.models.load_model(path)
np.testing.assert_allclose(
    reloaded.predict(x_test, verbose=0), model.predict(x_test, verbose=0), rtol=1e-6, atol=1e-6
)
print("OK")
