"""An "endpoint" layer, as in Keras's training guide: the loss needs the targets, so they
come in as a model input and the layer adds the loss itself with `add_loss`. The model is
compiled with an optimizer only and fit on a dict of inputs without `y`.

The task: 12 noisy sensor readings tell which of 4 machine states is active (multi-label:
several can be on). The endpoint layer adds a weighted binary cross-entropy (positives
count double) and returns the probabilities, which predict gives back.
"""

import numpy as np

import eigennet as keras
from eigennet import layers, ops

keras.utils.set_random_seed(3)
rng = np.random.default_rng(3)
states, readings = 4, 12
mixing = rng.normal(size=(states, readings))


def make_data(n):
    active = (rng.random((n, states)) < 0.4).astype("float32")
    sensors = active @ mixing + 0.3 * rng.normal(size=(n, readings))
    return sensors.astype("float32"), active


class WeightedLogisticEndpoint(layers.Layer):
    def __init__(self, positive_weight=2.0, name=None):
        super().__init__(name=name)
        self.positive_weight = positive_weight
        self.loss_fn = keras.losses.BinaryCrossentropy(from_logits=True, reduction="none")

    def call(self, targets, logits):
        per_label = self.loss_fn(targets[..., None], logits[..., None])
        weights = 1.0 + (self.positive_weight - 1.0) * targets
        self.add_loss(ops.mean(per_label * weights))
        return ops.sigmoid(logits)


x_train, y_train = make_data(2000)
x_test, y_test = make_data(400)

inputs = keras.Input(shape=(readings,), name="inputs")
targets = keras.Input(shape=(states,), name="targets")
hidden = layers.Dense(32, activation="relu")(inputs)
logits = layers.Dense(states)(hidden)
probabilities = WeightedLogisticEndpoint(name="predictions")(targets, logits)
model = keras.Model(inputs=[inputs, targets], outputs=probabilities)
model.compile(optimizer=keras.optimizers.Adam(1e-2))

history = model.fit(
    {"inputs": x_train, "targets": y_train},
    batch_size=64,
    epochs=10,
    verbose=0,
    validation_split=0.1,
)
assert history.history["loss"][-1] < 0.5 * history.history["loss"][0], history.history
assert "val_loss" in history.history
test_loss = model.evaluate({"inputs": x_test, "targets": y_test}, verbose=0)
print(f"test loss {float(np.ravel(test_loss)[0]):.3f}")

predicted = keras.ops.convert_to_numpy(
    model.predict({"inputs": x_test, "targets": np.zeros_like(y_test)}, verbose=0)
)
accuracy = np.mean((predicted > 0.5) == (y_test > 0.5))
print(f"label accuracy {accuracy:.3f}")
assert accuracy > 0.95, accuracy
print("OK")
