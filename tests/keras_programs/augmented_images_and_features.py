"""Image classification with data augmentation and preprocessing layers inside the model, in
the style of keras-io's "Image classification from scratch" and "Structured data
classification from scratch", on synthetic data.

Each sample is a 16x16 RGB image (pixel values 0-255) of horizontal or vertical stripes (the
class) under noise, and four numeric measurements on very different scales, one of them
weakly related to the class. The model takes both: the images pass through augmentation
(`RandomFlip("horizontal")`, `RandomContrast`, `RandomBrightness`, active only in training),
`Rescaling(1 / 255)` and a small convnet; the measurements through a `Normalization` layer
adapted on the training data. The preprocessing is part of the model, so the saved model takes
raw pixels and raw measurements.
"""

import numpy as np

import eigennet as keras
from eigennet import layers

keras.utils.set_random_seed(15)
rng = np.random.default_rng(15)

# ## Data

SIZE = 16


def make_data(n):
    labels = rng.integers(0, 2, size=n)
    rows = np.arange(SIZE)[:, None] * np.ones((1, SIZE))
    cols = rows.T
    period = rng.uniform(3.0, 6.0, size=(n, 1, 1))
    phase = rng.uniform(0, 2 * np.pi, size=(n, 1, 1))
    coord = np.where(labels[:, None, None] == 1, rows[None], cols[None])
    stripes = 0.5 + 0.5 * np.sin(2 * np.pi * coord / period + phase)
    color = rng.uniform(0.5, 1.0, size=(n, 1, 1, 3))
    images = 255 * (0.7 * stripes[..., None] * color + 0.3 * rng.uniform(size=(n, SIZE, SIZE, 3)))
    features = np.stack(
        [
            rng.normal(50.0, 10.0, n),  # unrelated, mean 50
            rng.normal(0.0, 0.01, n),  # unrelated, tiny scale
            rng.normal(1000.0 + 300.0 * labels, 400.0, n),  # weakly related to the class
            rng.exponential(5.0, n),
        ],
        axis=1,
    )
    return images.astype("float32"), features.astype("float32"), labels.astype("float32")


train_images, train_features, train_labels = make_data(800)
test_images, test_features, test_labels = make_data(200)

# ## Preprocessing layers

# Normalization learns the mean and variance of each measurement from the training data.
normalizer = layers.Normalization(name="normalize_features")
normalizer.adapt(train_features)
normalized = np.asarray(keras.ops.convert_to_numpy(normalizer(train_features)))
assert np.allclose(normalized.mean(axis=0), 0.0, atol=1e-3)
assert np.allclose(normalized.std(axis=0), 1.0, atol=1e-3)

data_augmentation = keras.Sequential(
    [
        layers.RandomFlip("horizontal"),  # stripes keep their orientation when flipped
        layers.RandomContrast(0.2),
        layers.RandomBrightness(0.1),
    ],
    name="data_augmentation",
)

# ## The model

image_input = keras.Input(shape=(SIZE, SIZE, 3), name="image")
feature_input = keras.Input(shape=(4,), name="features")

x = data_augmentation(image_input)
x = layers.Rescaling(1.0 / 255)(x)
x = layers.Conv2D(16, 3, padding="same", activation="relu")(x)
x = layers.MaxPooling2D()(x)
x = layers.Conv2D(16, 3, padding="same", activation="relu")(x)
x = layers.GlobalAveragePooling2D()(x)

f = normalizer(feature_input)
f = layers.Dense(8, activation="relu")(f)

merged = layers.concatenate([x, f])
merged = layers.Dropout(0.2)(merged)
output = layers.Dense(1, activation="sigmoid", name="stripes_are_horizontal")(merged)
model = keras.Model([image_input, feature_input], output)

model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="binary_crossentropy",
              metrics=["accuracy"])  # fmt: skip
history = model.fit(
    [train_images, train_features],
    train_labels,
    validation_split=0.2,
    epochs=12,
    batch_size=32,
    verbose=0,
)
assert history.history["loss"][-1] < history.history["loss"][0]

loss, accuracy = model.evaluate([test_images, test_features], test_labels, verbose=0)
print(f"test loss {loss:.3f}, accuracy {accuracy:.3f}")
assert accuracy > 0.9, accuracy

# Augmentation is off in inference: predicting twice gives the same probabilities.
first = np.asarray(model.predict([test_images, test_features], verbose=0))
again = np.asarray(model.predict([test_images, test_features], verbose=0))
np.testing.assert_array_equal(first, again)

# The saved model holds the preprocessing (the adapted statistics too) and takes raw data.
model.save("stripes.keras")
reloaded = keras.models.load_model("stripes.keras")
np.testing.assert_allclose(
    np.asarray(reloaded.predict([test_images, test_features], verbose=0)), first, rtol=1e-5,
    atol=1e-6,
)  # fmt: skip
stats = reloaded.get_layer("normalize_features").get_weights()
np.testing.assert_allclose(stats[0], train_features.mean(axis=0), rtol=1e-4)
np.testing.assert_allclose(stats[1], train_features.var(axis=0), rtol=1e-3)

print("OK")
