"""Multi-task learning on synthetic sensor windows with a dict of outputs.

Each window holds 48 steps of a 3-axis sensor: a noisy sine whose frequency tells the
activity (3 classes) and whose amplitude is its intensity (a number to regress). An
Inception-style block runs Conv1D branches of several widths side by side and concatenates
them; a GRU and a global pooling summarize the sequence. The model's outputs are a dict
(`keras.Model(inputs, {"activity": ..., "intensity": ...})`), so predictions come back as a
dict too. The architecture then goes through `get_config` / `from_config` and through JSON.
"""

import numpy as np

import eigennet as keras
from eigennet import layers

keras.utils.set_random_seed(8)
rng = np.random.default_rng(8)

timesteps, channels = 48, 3
frequencies = np.array([1.0, 2.5, 5.0])  # cycles per window, one per activity


def make_windows(n):
    activity = rng.integers(0, 3, size=n)
    intensity = rng.uniform(0.5, 2.0, size=n)
    t = np.linspace(0.0, 1.0, timesteps)
    phase = rng.uniform(0, 2 * np.pi, size=(n, 1, channels))
    waves = np.sin(2 * np.pi * frequencies[activity][:, None, None] * t[None, :, None] + phase)
    windows = intensity[:, None, None] * waves + 0.2 * rng.normal(size=(n, timesteps, channels))
    targets = {"activity": activity, "intensity": intensity.astype("float32")[:, None]}
    return windows.astype("float32"), targets


x_train, y_train = make_windows(1500)
x_test, y_test = make_windows(300)

# ## Model


def inception_block(x, filters):
    branch_1 = layers.Conv1D(filters, 1, activation="relu")(x)
    branch_3 = layers.Conv1D(filters, 3, padding="same", activation="relu")(x)
    branch_7 = layers.Conv1D(filters, 7, padding="same", activation="relu")(x)
    branch_pool = layers.MaxPooling1D(3, strides=1, padding="same")(x)
    branch_pool = layers.Conv1D(filters, 1, activation="relu")(branch_pool)
    return layers.concatenate([branch_1, branch_3, branch_7, branch_pool], axis=-1)


inputs = keras.Input(shape=(timesteps, channels), name="window")
x = inception_block(inputs, 8)
x = layers.LayerNormalization()(x)
x = layers.MaxPooling1D(2)(x)
sequence_summary = layers.GRU(16, name="gru")(x)
pooled = layers.GlobalAveragePooling1D()(x)
features = layers.concatenate([sequence_summary, pooled], name="features")
features = layers.Dense(32, activation="relu")(features)
outputs = {
    "activity": layers.Dense(3, activation="softmax", name="activity")(features),
    "intensity": layers.Dense(1, name="intensity")(features),
}
model = keras.Model(inputs, outputs, name="sensor_model")
model.summary()
assert model.get_layer("features").output.shape == (None, 16 + 32)

model.compile(
    optimizer=keras.optimizers.Adam(learning_rate=0.003),
    loss={"activity": "sparse_categorical_crossentropy", "intensity": "mse"},
    loss_weights={"activity": 1.0, "intensity": 0.5},
    metrics={"activity": ["accuracy"], "intensity": ["mae"]},
)
history = model.fit(x_train, y_train, epochs=10, batch_size=32, validation_split=0.2, verbose=2)
for key in ("activity_loss", "intensity_loss", "activity_accuracy", "intensity_mae"):
    assert key in history.history and f"val_{key}" in history.history, sorted(history.history)
assert history.history["loss"][-1] < 0.3 * history.history["loss"][0], history.history["loss"]

results = model.evaluate(x_test, y_test, verbose=0, return_dict=True)
print("test:", results)
assert results["activity_accuracy"] > 0.95, results
assert results["intensity_mae"] < 0.25, results  # intensities span 0.5..2.0

# Predictions of a model with a dict of outputs are a dict.
predictions = model.predict(x_test, verbose=0)
assert isinstance(predictions, dict) and set(predictions) == {"activity", "intensity"}
assert predictions["activity"].shape == (300, 3)
assert predictions["intensity"].shape == (300, 1)
np.testing.assert_allclose(predictions["activity"].sum(axis=1), 1.0, rtol=1e-5)

# ## The architecture as data: config and JSON

config = model.get_config()
assert config["name"] == "sensor_model"
rebuilt = keras.Model.from_config(config)
rebuilt.set_weights(model.get_weights())
rebuilt_predictions = rebuilt.predict(x_test, verbose=0)
for name in ("activity", "intensity"):
    np.testing.assert_allclose(rebuilt_predictions[name], predictions[name], rtol=1e-5, atol=1e-6)

from_json = keras.models.model_from_json(model.to_json())
assert [layer.name for layer in from_json.layers] == [layer.name for layer in model.layers]
assert from_json.count_params() == model.count_params()
from_json.set_weights(model.get_weights())
json_predictions = from_json.predict(x_test, verbose=0)
np.testing.assert_allclose(json_predictions["intensity"], predictions["intensity"], atol=1e-5)

print("OK")
