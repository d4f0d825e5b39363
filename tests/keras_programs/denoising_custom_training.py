"""A denoising classifier written the way Keras's subclassing guides write one: a custom layer
that adds Gaussian noise with keras.random only in training, a custom layer with its own
weights and an activity loss (add_loss), a Python loss written with keras.ops, a custom metric
with its own state, and save/reload of the whole model with registered classes."""

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import eigennet as keras
from eigennet import layers, ops

keras.utils.set_random_seed(3)

digits = load_digits()
x = (digits.data / 16.0).astype("float32")
y = digits.target.astype("int64")
x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.25, random_state=0)


@keras.saving.register_keras_serializable(package="denoising")
class TrainingNoise(layers.Layer):
    """Gaussian noise in training only (what layers.GaussianNoise does)."""

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.stddev = stddev
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=None):
        if training:
            noise = keras.random.normal(
                ops.shape(inputs), stddev=self.stddev, seed=self.seed_generator
            )
            return inputs + noise
        return inputs

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev}


@keras.saving.register_keras_serializable(package="denoising")
class SparseDense(layers.Layer):
    """A dense layer whose activations are pushed towards zero by an activity loss."""

    def __init__(self, units, rate=1e-3, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.rate = rate

    def build(self, input_shape):
        self.kernel = self.add_weight(
            shape=(input_shape[-1], self.units), initializer="glorot_uniform", name="kernel"
        )
        self.bias = self.add_weight(shape=(self.units,), initializer="zeros", name="bias")

    def call(self, inputs):
        outputs = ops.relu(ops.matmul(inputs, self.kernel) + self.bias)
        self.add_loss(self.rate * ops.mean(ops.sum(ops.abs(outputs), axis=-1)))
        return outputs

    def get_config(self):
        return {**super().get_config(), "units": self.units, "rate": self.rate}


@keras.saving.register_keras_serializable(package="denoising")
def smoothed_crossentropy(y_true, y_pred):
    """Sparse cross-entropy against labels smoothed by 0.1, written with keras.ops."""
    classes = ops.shape(y_pred)[-1]
    labels = ops.one_hot(ops.cast(ops.squeeze(y_true, axis=-1), "int32"), classes)
    labels = labels * 0.9 + 0.1 / classes
    return -ops.sum(labels * ops.log(ops.clip(y_pred, 1e-7, 1.0)), axis=-1)


@keras.saving.register_keras_serializable(package="denoising")
class ConfidentAccuracy(keras.metrics.Metric):
    """The accuracy over the samples whose top probability is above a threshold."""

    def __init__(self, threshold=0.8, name="confident_accuracy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.threshold = threshold
        self.hits = self.add_variable(shape=(), initializer="zeros", name="hits")
        self.confident = self.add_variable(shape=(), initializer="zeros", name="confident")

    def update_state(self, y_true, y_pred, sample_weight=None):
        sure = ops.cast(ops.max(y_pred, axis=-1) > self.threshold, "float32")
        right = ops.cast(
            ops.equal(ops.argmax(y_pred, axis=-1), ops.squeeze(y_true, axis=-1)), "float32"
        )
        self.hits.assign_add(ops.sum(sure * right))
        self.confident.assign_add(ops.sum(sure))

    def result(self):
        return self.hits / ops.maximum(self.confident, 1.0)

    def get_config(self):
        return {**super().get_config(), "threshold": self.threshold}


inputs = keras.Input(shape=(64,))
h = TrainingNoise(0.2, seed=1)(inputs)
h = SparseDense(64)(h)
h = layers.Dropout(0.1)(h)
outputs = layers.Dense(10, activation="softmax")(h)
model = keras.Model(inputs, outputs)
model.compile(
    optimizer=keras.optimizers.Adam(3e-3),
    loss=smoothed_crossentropy,
    metrics=[ConfidentAccuracy(), "accuracy"],
)
history = model.fit(
    x_train, y_train[:, None], epochs=20, batch_size=32, validation_split=0.1, verbose=0
)
print(sorted(history.history))
loss, confident, accuracy = model.evaluate(x_test, y_test[:, None], verbose=0)
print(f"test accuracy {accuracy:.3f}, confident accuracy {confident:.3f}")
assert accuracy > 0.9, accuracy
assert history.history["loss"][-1] < history.history["loss"][0]

model.save("denoising.keras")
reloaded = keras.models.load_model("denoising.keras")
np.testing.assert_allclose(
    reloaded.predict(x_test, verbose=0), model.predict(x_test, verbose=0), rtol=1e-5, atol=1e-6
)
reloaded.evaluate(x_test, y_test[:, None], verbose=0)
print("reloaded and evaluated")
print("OK")
