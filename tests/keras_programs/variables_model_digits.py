"""A model written with `keras.Variable`s, as hand-written models are, on scikit-learn's digits.

A subclassed model keeps its own weight matrices as `keras.Variable`s made in `__init__`; a
custom layer holds a non-trainable integer index table (a `keras.Variable`) and an int32
call counter made with `add_weight`; the model trains with `fit`, its variables are the
same objects before and after, and its weights round-trip through a `.weights.h5` file.
"""

import os
import tempfile

import numpy as np
from sklearn.datasets import load_digits

import eigennet as keras
from eigennet import layers, ops

keras.utils.set_random_seed(11)

digits = load_digits()
x = (digits.data / 16.0).astype("float32")
y = digits.target.astype("int64")
x_train, y_train, x_test, y_test = x[:1400], y[:1400], x[1400:], y[1400:]


class ReverseRows(layers.Layer):
    """Reads each 8x8 image bottom row first: a gather through a fixed integer index table."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        order = np.arange(64).reshape(8, 8)[::-1].ravel()
        self.order = keras.Variable(order, trainable=False, name="order")

    def call(self, inputs):
        return ops.take(inputs, self.order, axis=1)


class HandWrittenMLP(keras.Model):
    def __init__(self, hidden=64, classes=10, **kwargs):
        super().__init__(**kwargs)
        rng = np.random.default_rng(0)
        self.reverse = ReverseRows()
        self.w1 = keras.Variable(rng.normal(0, 0.1, (64, hidden)).astype("float32"), name="w1")
        self.b1 = keras.Variable(np.zeros(hidden, "float32"), name="b1")
        self.w2 = keras.Variable(rng.normal(0, 0.1, (hidden, classes)).astype("float32"), name="w2")
        self.b2 = keras.Variable(np.zeros(classes, "float32"), name="b2")

    def call(self, inputs):
        hidden = ops.relu(ops.matmul(self.reverse(inputs), self.w1) + self.b1)
        return ops.matmul(hidden, self.w2) + self.b2


model = HandWrittenMLP()
first_kernel = model.w1
model.compile(
    optimizer=keras.optimizers.Adam(learning_rate=0.01),
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    metrics=["accuracy"],
)
start = model.w1.numpy().copy()
model.fit(x_train, y_train, batch_size=32, epochs=10, verbose=0)
_, accuracy = model.evaluate(x_test, y_test, verbose=0)
print(f"test accuracy: {accuracy:.3f}")
assert accuracy > 0.85, accuracy
assert model.w1 is first_kernel and not np.array_equal(model.w1.numpy(), start)
names = [v.name for v in model.trainable_weights]
assert names == ["w1", "b1", "w2", "b2"], names
assert [v.name for v in model.non_trainable_weights] == ["order"]
np.testing.assert_array_equal(
    model.reverse(x_test[:2]), x_test[:2].reshape(2, 8, 8)[:, ::-1].reshape(2, 64)
)

path = os.path.join(tempfile.mkdtemp(), "mlp.weights.h5")
model.save_weights(path)
fresh = HandWrittenMLP()
fresh(x_test[:1])
fresh.load_weights(path)
np.testing.assert_allclose(
    fresh.predict(x_test, verbose=0), model.predict(x_test, verbose=0), atol=1e-6
)
print("OK")
