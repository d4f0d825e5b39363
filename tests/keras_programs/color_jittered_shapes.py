"""A small CNN that tells squares from discs from crosses whatever their colour, trained with
colour and geometry augmentation inside the model, as keras-io's image classification
examples put it.

Each 16x16 RGB image holds one shape of a random colour on a random darker background. The
model starts with an augmentation block (RandomHue, RandomSaturation, RandomSharpness,
RandomPosterization, RandomShear, Solarization on a high threshold): it changes the images in
fit only, so predict sees them as they are. The block is also used on its own, as a
preprocessing model, to check that it keeps shapes and value range.
"""

import numpy as np

import eigennet as keras
from eigennet import layers

keras.utils.set_random_seed(21)
rng = np.random.default_rng(21)
size = 16


def make_images(n):
    rows, cols = np.mgrid[:size, :size]
    labels = rng.integers(0, 3, size=n)
    images = np.empty((n, size, size, 3), "float32")
    for i, label in enumerate(labels):
        cy, cx = rng.integers(5, size - 5, size=2)
        radius = rng.integers(3, 5)
        if label == 0:  # square
            mask = (abs(rows - cy) <= radius) & (abs(cols - cx) <= radius)
        elif label == 1:  # disc
            mask = (rows - cy) ** 2 + (cols - cx) ** 2 <= radius**2
        else:  # cross
            mask = ((abs(rows - cy) <= 1) & (abs(cols - cx) <= radius)) | (
                (abs(cols - cx) <= 1) & (abs(rows - cy) <= radius)
            )
        colour = rng.uniform(120, 255, size=3)
        background = rng.uniform(0, 80, size=3)
        images[i] = np.where(mask[..., None], colour, background)
    return images, labels


x_train, y_train = make_images(1500)
x_test, y_test = make_images(300)

augmentation = keras.Sequential(
    [
        layers.RandomHue(0.2),
        layers.RandomSaturation((0.3, 0.7)),
        layers.RandomSharpness((0.3, 0.7)),
        layers.RandomPosterization((5, 8)),
        layers.RandomShear(x_factor=0.1, y_factor=0.1, fill_mode="nearest"),
        layers.Solarization(threshold_factor=(0.95, 1.0)),
    ],
    name="augmentation",
)
augmented = keras.ops.convert_to_numpy(augmentation(x_train[:8], training=True))
assert augmented.shape == x_train[:8].shape
assert 0 <= augmented.min() and augmented.max() <= 255
unchanged = keras.ops.convert_to_numpy(augmentation(x_train[:8], training=False))
np.testing.assert_allclose(unchanged, x_train[:8])

inputs = keras.Input(shape=(size, size, 3))
x = augmentation(inputs)
x = layers.Rescaling(1.0 / 255)(x)
x = layers.Conv2D(16, 3, activation="relu", padding="same")(x)
x = layers.MaxPooling2D()(x)
x = layers.Conv2D(32, 3, activation="relu", padding="same")(x)
x = layers.GlobalMaxPooling2D()(x)
outputs = layers.Dense(3, activation="softmax")(x)
model = keras.Model(inputs, outputs)
model.compile(
    optimizer=keras.optimizers.Adam(3e-3),
    loss="sparse_categorical_crossentropy",
    metrics=["accuracy"],
)
history = model.fit(x_train, y_train, batch_size=32, epochs=15, verbose=0)
assert history.history["loss"][-1] < history.history["loss"][0]
loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
print(f"test accuracy {accuracy:.3f}")
assert accuracy > 0.9, accuracy
print("OK")
