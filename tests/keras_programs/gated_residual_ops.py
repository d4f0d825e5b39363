"""A gated residual network for tabular regression, written with keras.ops and operators
between symbolic tensors (`x + y`, `x * gate`), in the style of keras-io's structured-data
examples: a gated linear unit per block, a skip connection, and a dense head."""

import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.model_selection import train_test_split

import eigennet as keras
from eigennet import layers, ops

keras.utils.set_random_seed(7)

features, target = load_diabetes(return_X_y=True)
features = (features - features.mean(axis=0)) / features.std(axis=0)
target = ((target - target.mean()) / target.std()).astype("float32")
x_train, x_test, y_train, y_test = train_test_split(
    features.astype("float32"), target, test_size=0.25, random_state=0
)


def gated_residual_block(x, units, name):
    """x + GLU(Dense(x)): the value path gated by a sigmoid path, as a gated linear unit."""
    hidden = layers.Dense(units, activation="elu", name=f"{name}_hidden")(x)
    value = layers.Dense(units, name=f"{name}_value")(hidden)
    gate = ops.sigmoid(layers.Dense(units, name=f"{name}_gate")(hidden))
    skip = x if x.shape[-1] == units else layers.Dense(units, name=f"{name}_skip")(x)
    return layers.LayerNormalization(name=f"{name}_norm")(skip + value * gate)


inputs = keras.Input(shape=(features.shape[1],), name="features")
x = gated_residual_block(inputs, 32, "block1")
x = gated_residual_block(x, 32, "block2")
wide = layers.Dense(8, name="wide")(inputs)
x = ops.concatenate([ops.relu(x), keras.activations.tanh(wide)], axis=-1)
outputs = layers.Dense(1, name="target")(x)
model = keras.Model(inputs, outputs, name="gated_residual")
model.summary()

model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse", metrics=["mae"])
history = model.fit(x_train, y_train, batch_size=32, epochs=60, validation_split=0.2, verbose=0)
assert history.history["loss"][-1] < 0.5 * history.history["loss"][0], history.history["loss"]

test_loss, test_mae = model.evaluate(x_test, y_test, verbose=0)
baseline = float(np.mean((y_test - y_train.mean()) ** 2))
print(f"test mse {test_loss:.3f} (predicting the mean: {baseline:.3f}), mae {test_mae:.3f}")
assert test_loss < 0.95 * baseline, (test_loss, baseline)

# The ops on arrays compute at once, as NumPy would.
a, b = np.arange(3.0), np.ones(3)
np.testing.assert_allclose(ops.multiply(ops.add(a, b), b), a + 1)

model.save("gated_residual.keras")
reloaded = keras.models.load_model("gated_residual.keras")
np.testing.assert_allclose(
    reloaded.predict(x_test, verbose=0), model.predict(x_test, verbose=0), rtol=1e-5, atol=1e-6
)
print("OK")
