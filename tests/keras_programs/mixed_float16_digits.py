"""Mixed precision with float16, in the style of Keras's mixed precision guide: the global
policy is mixed_float16, the model's last softmax is kept in float32, compile wraps the
optimizer in a LossScaleOptimizer by itself, and a second model wraps one explicitly with a
scale that grows. The first model is trained on digits, saved, reloaded with its loss scale,
and trained on. Run with `import eigennet as keras` (or `import keras`)."""

import os
import tempfile

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import eigennet as keras
from eigennet import layers

keras.mixed_precision.set_global_policy("mixed_float16")
keras.utils.set_random_seed(11)

digits = load_digits()
x = (digits.data / 16.0).astype("float32")
x_train, x_test, y_train, y_test = train_test_split(
    x, digits.target, test_size=0.25, random_state=1
)

inputs = keras.Input(shape=(64,), name="pixels")
h = layers.Dense(256, activation="relu", name="dense_1")(inputs)
h = layers.Dense(256, activation="relu", name="dense_2")(h)
logits = layers.Dense(10, name="dense_logits")(h)
# The guide's advice: the output layer in float32, for a numerically stable softmax.
outputs = layers.Activation("softmax", dtype="float32", name="predictions")(logits)
model = keras.Model(inputs=inputs, outputs=outputs)

dense = model.get_layer("dense_1")
print("policy:", dense.dtype_policy.name, dense.compute_dtype, dense.variable_dtype)
assert dense.compute_dtype == "float16" and dense.variable_dtype == "float32"
assert model.get_layer("predictions").compute_dtype == "float32"

model.compile(
    loss="sparse_categorical_crossentropy",
    optimizer=keras.optimizers.RMSprop(learning_rate=1e-3),
    metrics=["accuracy"],
)
optimizer = model.optimizer
print("optimizer:", type(optimizer).__name__, "around", type(optimizer.inner_optimizer).__name__)
assert isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
print("initial loss scale:", optimizer.initial_scale)

history = model.fit(x_train, y_train, batch_size=64, epochs=12, validation_split=0.2, verbose=0)
loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
print(f"test loss {loss:.4f}, accuracy {accuracy:.4f}")
print("steps:", int(optimizer.iterations), "loss scale:", float(optimizer.dynamic_scale))
assert accuracy > 0.9, accuracy
assert history.history["val_accuracy"][-1] > 0.85

# The guide's loss scaling section: an optimizer wrapped explicitly, with a small initial scale
# that grows every 50 finite steps.
explicit = keras.optimizers.LossScaleOptimizer(
    keras.optimizers.SGD(learning_rate=0.01), initial_scale=8.0, dynamic_growth_steps=50
)
small = keras.Sequential(
    [
        keras.Input(shape=(64,)),
        layers.Dense(32, activation="relu"),
        layers.Dense(10),
        layers.Activation("softmax", dtype="float32"),
    ]
)
small.compile(optimizer=explicit, loss="sparse_categorical_crossentropy")
small.fit(x_train, y_train, batch_size=16, epochs=2, verbose=0)  # 2 x 85 steps
print(
    "explicit loss scale after", int(explicit.iterations), "steps:", float(explicit.dynamic_scale)
)
assert float(explicit.dynamic_scale) == 8.0 * 2 ** (int(explicit.iterations) // 50)

path = os.path.join(tempfile.mkdtemp(), "mixed_float16_digits.keras")
model.save(path)
restored = keras.saving.load_model(path)
assert isinstance(restored.optimizer, keras.optimizers.LossScaleOptimizer)
assert float(restored.optimizer.dynamic_scale) == float(optimizer.dynamic_scale)
assert int(restored.optimizer.iterations) == int(optimizer.iterations)
np.testing.assert_allclose(restored.predict(x_test, verbose=0), model.predict(x_test, verbose=0))
restored.fit(x_train, y_train, batch_size=64, epochs=1, verbose=0)
print("restored model trained on:", int(restored.optimizer.iterations), "steps")

keras.mixed_precision.set_global_policy("float32")
print("OK")
