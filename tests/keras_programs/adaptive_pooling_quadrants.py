"""Which quadrant holds the bright blob? A small CNN whose head pools to a 2x2 grid with
`layers.AdaptiveAveragePooling2D`, so that each quadrant keeps its own features, behind an
augmentation `layers.Pipeline` (brightness and sharpness only: flips would move the blob to
another quadrant). A second head pools the feature channels of each position instead, with
`GlobalAveragePooling1D(data_format="channels_first")` over a (positions, channels) view, as
keras-io's timeseries transformer pools its features. `summary(expand_nested=True,
show_trainable=True)` lists the pipeline (a layer, not a nested model: not expanded).
"""

import numpy as np

import eigennet as keras
from eigennet import layers

keras.utils.set_random_seed(9)
rng = np.random.default_rng(9)
size = 12


def make_images(n):
    labels = rng.integers(0, 4, size=n)
    images = rng.uniform(0, 60, size=(n, size, size, 1)).astype("float32")
    rows, cols = np.mgrid[:size, :size]
    for i, label in enumerate(labels):
        top, left = divmod(int(label), 2)
        cy = rng.integers(1, size // 2 - 1) + top * size // 2
        cx = rng.integers(1, size // 2 - 1) + left * size // 2
        images[i, ..., 0] += 190 * ((rows - cy) ** 2 + (cols - cx) ** 2 <= 2)
    return np.clip(images, 0, 255), labels


x_train, y_train = make_images(1200)
x_test, y_test = make_images(300)

augmentation = layers.Pipeline(
    [layers.RandomBrightness(0.1), layers.RandomSharpness((0.3, 0.7))], name="augmentation"
)
inputs = keras.Input(shape=(size, size, 1))
x = augmentation(inputs)
x = layers.Rescaling(1.0 / 255)(x)
x = layers.Conv2D(8, 3, padding="same", activation="relu")(x)
features = layers.Conv2D(8, 3, padding="same", activation="relu")(x)
grid = layers.AdaptiveAveragePooling2D((2, 2))(features)  # (batch, 2, 2, 8)
per_position = layers.Reshape((size * size, 8))(features)
position_means = layers.GlobalAveragePooling1D(data_format="channels_first")(per_position)
merged = layers.Concatenate()([layers.Flatten()(grid), layers.Dense(4)(position_means)])
outputs = layers.Dense(4, activation="softmax")(merged)
model = keras.Model(inputs, outputs)
assert position_means.shape == (None, size * size)

lines = []
model.summary(expand_nested=True, show_trainable=True, print_fn=lines.append)
text = "\n".join(lines)
assert "Trai" in text and "augmentation" in text and "(Pipeline)" in text, text

model.compile(
    optimizer=keras.optimizers.Adam(3e-3),
    loss="sparse_categorical_crossentropy",
    metrics=["accuracy"],
)
model.fit(x_train, y_train, batch_size=32, epochs=10, verbose=0)
loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
print(f"test accuracy {accuracy:.3f}")
assert accuracy > 0.9, accuracy
print("OK")
