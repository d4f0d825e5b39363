"""Image classification from image files on disk, in the style of keras-io's "image
classification from scratch": PNG and JPEG pictures of two kinds (stripes across, stripes
down) under one folder per class, with a corrupted file to filter out first; read with
`image_dataset_from_directory` (a seeded validation split), augmented by mapping random
flips and rotations over the training batches, classified by a small convolutional net with
Rescaling, BatchNormalization (a short momentum: few steps) and SeparableConv2D; then one
file is loaded with `load_img` and classified. Run with `import eigennet as keras` (or
`import keras`)."""

import os
import tempfile

import numpy as np
from PIL import Image

import eigennet as keras
from eigennet import layers

keras.utils.set_random_seed(3)
rng = np.random.default_rng(3)
root = tempfile.mkdtemp()

for label in ("across", "down"):
    os.makedirs(os.path.join(root, label))
    for i in range(80):
        size = int(rng.integers(24, 40))
        period = int(rng.integers(3, 6))
        stripes = (np.arange(size) // period) % 2 * 180.0
        picture = np.tile(stripes[:, None] if label == "across" else stripes[None, :], (1, 1))
        picture = np.broadcast_to(picture, (size, size)) + rng.normal(0, 25, (size, size))
        pixels = np.clip(picture, 0, 255).astype("uint8")
        rgb = np.stack([pixels, pixels // 2, 255 - pixels], axis=-1)
        extension = "png" if i % 2 else "jpg"
        Image.fromarray(rgb).save(os.path.join(root, label, f"{i}.{extension}"))
with open(os.path.join(root, "down", "broken.jpg"), "wb") as f:
    f.write(b"\xff\xd8 not really a JPEG")

# As in the keras-io example: drop the files that are not images.
num_skipped = 0
for label in ("across", "down"):
    folder = os.path.join(root, label)
    for name in os.listdir(folder):
        path = os.path.join(folder, name)
        try:
            with Image.open(path) as img:
                img.verify()
        except Exception:
            num_skipped += 1
            os.remove(path)
print(f"Deleted {num_skipped} images.")
assert num_skipped == 1

image_size = (32, 32)
batch_size = 16
train_ds, val_ds = keras.utils.image_dataset_from_directory(
    root,
    validation_split=0.2,
    subset="both",
    seed=1337,
    image_size=image_size,
    batch_size=batch_size,
)
print("classes:", train_ds.class_names)

data_augmentation_layers = [layers.RandomFlip("horizontal"), layers.RandomRotation(0.05)]


def data_augmentation(images):
    for layer in data_augmentation_layers:
        images = layer(images)
    return images


train_ds = train_ds.map(lambda img, label: (data_augmentation(img), label))
train_ds = train_ds.prefetch(4)
val_ds = val_ds.prefetch(4)


def make_model(input_shape, num_classes):
    inputs = keras.Input(shape=input_shape)
    x = layers.Rescaling(1.0 / 255)(inputs)
    x = layers.Conv2D(16, 3, strides=2, padding="same")(x)
    x = layers.BatchNormalization(momentum=0.9)(x)
    x = layers.Activation("relu")(x)
    previous = x
    for size in (32, 64):
        x = layers.Activation("relu")(x)
        x = layers.SeparableConv2D(size, 3, padding="same")(x)
        x = layers.BatchNormalization(momentum=0.9)(x)
        x = layers.MaxPooling2D(3, strides=2, padding="same")(x)
        residual = layers.Conv2D(size, 1, strides=2, padding="same")(previous)
        x = layers.add([x, residual])
        previous = x
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.25)(x)
    outputs = layers.Dense(1 if num_classes == 2 else num_classes, activation=None)(x)
    return keras.Model(inputs, outputs)


model = make_model(input_shape=image_size + (3,), num_classes=2)
model.compile(
    optimizer=keras.optimizers.Adam(3e-3),
    loss=keras.losses.BinaryCrossentropy(from_logits=True),
    metrics=[keras.metrics.BinaryAccuracy(name="acc")],
)
history = model.fit(train_ds, epochs=12, validation_data=val_ds, verbose=2)
val_accuracy = history.history["val_acc"][-1]
print(f"validation accuracy: {val_accuracy:.3f}")
assert val_accuracy >= 0.85

path = os.path.join(root, "down", "1.png")
img = keras.utils.load_img(path, target_size=image_size)
img_array = keras.utils.img_to_array(img)
img_array = keras.ops.expand_dims(img_array, 0)  # a batch of one
score = float(keras.ops.sigmoid(model.predict(img_array, verbose=0)[0][0]))
print(f"This image is {100 * (1 - score):.2f}% across and {100 * score:.2f}% down.")
assert score > 0.5
print("OK")
