"""Batch inference after int8 quantization: a classifier of sensor readings served in bulk.

A model over 30 features (a width the int8 product has to pad) is trained in float32, then
`model.quantize("int8")` makes its Dense kernels int8. Scoring a large batch of readings then
runs integer products: the classes match the float model's, the scores do not depend on the
batch size they are scored in, `evaluate` gives the float model's accuracy, and the quantized
model saved to a `.keras` file scores the same after loading.
"""

import numpy as np

import eigennet as keras
from eigennet import layers

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)
classes, features = 10, 30
centers = rng.normal(scale=0.6, size=(classes, features))


def readings(n):
    labels = rng.integers(0, classes, n)
    x = centers[labels] + rng.normal(size=(n, features))
    return x.astype("float32"), labels


x_train, y_train = readings(6000)
x_serve, y_serve = readings(5000)

inputs = keras.Input(shape=(features,), name="readings")
x = layers.Dense(256, activation="relu")(inputs)
x = layers.Dense(256, activation="relu")(x)
outputs = layers.Dense(classes, activation="softmax")(x)
model = keras.Model(inputs, outputs, name="sensor_classifier")
model.compile(
    optimizer=keras.optimizers.Adam(1e-3),
    loss="sparse_categorical_crossentropy",
    metrics=["accuracy"],
)
model.fit(x_train, y_train, batch_size=128, epochs=3, validation_split=0.1, verbose=0)
_, float_accuracy = model.evaluate(x_serve, y_serve, batch_size=1024, verbose=0)
float_scores = model.predict(x_serve, batch_size=1024, verbose=0)

model.quantize("int8")
print("kernel dtypes:", [str(layer.kernel.dtype) for layer in model.layers[1:]])
assert all(str(layer.kernel.dtype) == "int8" for layer in model.layers[1:])

scores = model.predict(x_serve, batch_size=1024, verbose=0)
agreement = float((scores.argmax(-1) == float_scores.argmax(-1)).mean())
print(f"argmax agreement with float32: {agreement:.4f}")
assert agreement >= 0.99
np.testing.assert_allclose(scores, float_scores, atol=0.05)

# Each reading is quantized on its own: its scores do not depend on the batch around it.
small_batches = model.predict(x_serve, batch_size=37, verbose=0)
np.testing.assert_allclose(small_batches, scores, rtol=1e-5, atol=1e-6)

_, int8_accuracy = model.evaluate(x_serve, y_serve, batch_size=1024, verbose=0)
print(f"accuracy: float32 {float_accuracy:.4f}, int8 {int8_accuracy:.4f}")
assert float_accuracy > 0.85
assert abs(int8_accuracy - float_accuracy) <= 0.005

model.save("sensor_classifier_int8.keras")
restored = keras.models.load_model("sensor_classifier_int8.keras")
np.testing.assert_allclose(
    restored.predict(x_serve, batch_size=1024, verbose=0), scores, rtol=1e-5, atol=1e-6
)
print("OK")
