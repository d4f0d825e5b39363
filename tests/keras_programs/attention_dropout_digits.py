"""Digits as sequences of rows through MultiHeadAttention with attention dropout, in the style
of keras-io's "Image classification with Vision Transformer": pixels scaled to [0, 1] as image
programs do, a functional model, training with dropout in the attention, then saving and
loading and the same predictions."""

import os
import tempfile

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import eigennet as keras
from eigennet import layers

keras.utils.set_random_seed(5)

digits = load_digits()
images = (digits.images / 16.0).astype("float32")  # (n, 8, 8) in [0, 1]: 8 tokens of 8 pixels
x_train, x_test, y_train, y_test = train_test_split(
    images, digits.target, test_size=0.25, random_state=0
)

inputs = keras.Input(shape=(8, 8))
x = layers.Dense(32)(inputs)
attended = layers.MultiHeadAttention(num_heads=4, key_dim=8, dropout=0.1)(x, x)
x = layers.LayerNormalization()(layers.Add()([x, attended]))
x = layers.GlobalAveragePooling1D()(x)
x = layers.Dropout(0.1)(x)
outputs = layers.Dense(10, activation="softmax")(x)
model = keras.Model(inputs, outputs)
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])

history = model.fit(x_train, y_train, epochs=80, batch_size=32, validation_split=0.1, verbose=0)
loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
print(f"test accuracy: {accuracy:.4f}")
assert history.history["loss"][-1] < history.history["loss"][0]
assert accuracy > 0.75, accuracy  # chance is 0.1

path = os.path.join(tempfile.mkdtemp(), "attention.keras")
model.save(path)
restored = keras.models.load_model(path)
np.testing.assert_allclose(
    restored.predict(x_test, verbose=0), model.predict(x_test, verbose=0), rtol=1e-5, atol=1e-6
)
print("OK")
