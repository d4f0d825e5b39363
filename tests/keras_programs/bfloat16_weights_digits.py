"""Half-precision weights, as Keras users load a model to halve its weights: a digits
classifier trained in float32 is rebuilt under the "bfloat16" dtype policy (variables and
computation in bfloat16), given the trained weights, evaluated, fine-tuned for a few epochs
with SGD, saved and reloaded. A float16 copy of one layer is made with `dtype="float16"`.
Run with `import eigennet as keras` (or `import keras`)."""

import os
import tempfile

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import eigennet as keras
from eigennet import layers

keras.utils.set_random_seed(5)
digits = load_digits()
x = (digits.data / 16.0).astype("float32")
x_train, x_test, y_train, y_test = train_test_split(
    x, digits.target, test_size=0.25, random_state=2
)


def classifier():
    inputs = keras.Input(shape=(64,))
    h = layers.Dense(128, activation="relu", name="hidden_1")(inputs)
    h = layers.Dense(64, activation="relu", name="hidden_2")(h)
    outputs = layers.Dense(10, activation="softmax", name="classes")(h)
    return keras.Model(inputs, outputs)


full = classifier()
full.compile(
    optimizer=keras.optimizers.Adam(1e-3),
    loss="sparse_categorical_crossentropy",
    metrics=["accuracy"],
)
full.fit(x_train, y_train, batch_size=32, epochs=15, verbose=0)
_, full_accuracy = full.evaluate(x_test, y_test, verbose=0)
print(f"float32 accuracy: {full_accuracy:.4f}")

keras.config.set_dtype_policy("bfloat16")
half = classifier()
keras.config.set_dtype_policy("float32")
hidden = half.get_layer("hidden_1")
print("policy:", hidden.dtype_policy.name, hidden.compute_dtype, hidden.variable_dtype)
assert hidden.variable_dtype == "bfloat16" and hidden.kernel.dtype == "bfloat16"

half.set_weights(full.get_weights())  # rounded to bfloat16
kernel = np.asarray(half.get_layer("hidden_1").kernel.numpy(), dtype="float32")
exact = np.asarray(full.get_layer("hidden_1").kernel.numpy(), dtype="float32")
print(f"largest rounding of a weight: {np.max(np.abs(kernel - exact)):.2e}")
assert 0 < np.max(np.abs(kernel - exact)) <= np.max(np.abs(exact)) * 2.0**-8

half.compile(
    optimizer=keras.optimizers.SGD(0.05, momentum=0.9),
    loss="sparse_categorical_crossentropy",
    metrics=["accuracy"],
)
_, half_accuracy = half.evaluate(x_test, y_test, verbose=0)
print(f"bfloat16 accuracy: {half_accuracy:.4f}")
assert abs(half_accuracy - full_accuracy) <= 0.02

history = half.fit(x_train, y_train, batch_size=64, epochs=3, verbose=0)
print("fine-tuning losses:", [round(v, 4) for v in history.history["loss"]])
_, tuned_accuracy = half.evaluate(x_test, y_test, verbose=0)
print(f"bfloat16 accuracy after fine-tuning: {tuned_accuracy:.4f}")
assert tuned_accuracy >= full_accuracy - 0.02

path = os.path.join(tempfile.mkdtemp(), "digits_bfloat16.keras")
half.save(path)
restored = keras.saving.load_model(path)
assert restored.get_layer("classes").variable_dtype == "bfloat16"
np.testing.assert_array_equal(
    np.asarray(restored.predict(x_test, verbose=0), "float32"),
    np.asarray(half.predict(x_test, verbose=0), "float32"),
)

small = layers.Dense(10, dtype="float16", name="classes_float16")
small.build((None, 64))
small.set_weights(full.get_layer("classes").get_weights())
print("float16 copy:", small.kernel.dtype, small.get_weights()[0].dtype)
assert str(small.get_weights()[0].dtype) == "float16"
print("OK")
