"""Custom layers and a subclassed model, in the style of Keras's guide "Making new layers and
models via subclassing": a Linear layer whose weights come from add_weight (made in __init__
when the input size is known, else lazily in build()), a block of such layers tracked as
attributes, a subclassed model trained with fit on the digits data, then saved and reloaded
through register_keras_serializable."""

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import eigennet as keras
from eigennet import layers, ops

keras.utils.set_random_seed(3)


# A layer with its weights made up front: usable at once on arrays.
class EagerLinear(layers.Layer):
    def __init__(self, units=8, input_dim=4):
        super().__init__()
        self.w = self.add_weight(shape=(input_dim, units), initializer="random_normal")
        self.b = self.add_weight(shape=(units,), initializer="zeros")

    def call(self, inputs):
        return ops.matmul(inputs, self.w) + self.b


probe = EagerLinear(3, 2)
out = probe(np.ones((2, 2), dtype="float32"))
assert tuple(out.shape) == (2, 3), out.shape
assert len(probe.weights) == 2 and probe.weights[0] is probe.w and probe.weights[1] is probe.b
np.testing.assert_allclose(
    ops.convert_to_numpy(out), np.ones((2, 2)) @ ops.convert_to_numpy(probe.w), rtol=1e-6
)


@keras.saving.register_keras_serializable(package="guide")
class Linear(layers.Layer):
    """The same layer with its weights made lazily, once the input size is known."""

    def __init__(self, units=32, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(
            shape=(input_shape[-1], self.units), initializer="glorot_uniform", name="w"
        )
        self.b = self.add_weight(shape=(self.units,), initializer="zeros", name="b")

    def call(self, inputs):
        return ops.matmul(inputs, self.w) + self.b

    def get_config(self):
        config = super().get_config()
        config.update({"units": self.units})
        return config


@keras.saving.register_keras_serializable(package="guide")
class MLPBlock(layers.Layer):
    """Three Linear layers; assigned as attributes, their weights are the block's."""

    def __init__(self, hidden=32, **kwargs):
        super().__init__(**kwargs)
        self.hidden = hidden
        self.linear_1 = Linear(hidden)
        self.linear_2 = Linear(hidden)
        self.linear_3 = Linear(hidden)

    def call(self, inputs):
        x = ops.relu(self.linear_1(inputs))
        x = ops.relu(self.linear_2(x)) + x  # a residual connection
        return self.linear_3(x)

    def get_config(self):
        return {**super().get_config(), "hidden": self.hidden}


block = MLPBlock(16)
y = block(np.ones((3, 64), dtype="float32"))
assert tuple(y.shape) == (3, 16)
assert len(block.weights) == 6 and len(block.trainable_weights) == 6
print("MLPBlock weights:", [tuple(w.shape) for w in block.weights])


@keras.saving.register_keras_serializable(package="guide")
class DigitClassifier(keras.Model):
    def __init__(self, hidden=64, num_classes=10, **kwargs):
        super().__init__(**kwargs)
        self.hidden = hidden
        self.num_classes = num_classes
        self.block = MLPBlock(hidden)
        self.classifier = layers.Dense(num_classes, activation="softmax")

    def call(self, inputs):
        x = inputs / 16.0  # the pixels are 0..16
        return self.classifier(ops.relu(self.block(x)))

    def get_config(self):
        return {**super().get_config(), "hidden": self.hidden, "num_classes": self.num_classes}


digits = load_digits()
x = digits.data.astype("float32")
y = digits.target.astype("int32")
x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.25, random_state=0)

model = DigitClassifier()
model.compile(
    optimizer=keras.optimizers.Adam(1e-3),
    loss="sparse_categorical_crossentropy",
    metrics=["accuracy"],
)
history = model.fit(x_train, y_train, batch_size=32, epochs=15, validation_split=0.1, verbose=0)
assert history.history["loss"][-1] < 0.5 * history.history["loss"][0], history.history["loss"]
model.summary()
loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
print(f"test accuracy {accuracy:.3f}")
assert accuracy > 0.9, accuracy
assert len(model.weights) == 6 + 2

model.save("digit_classifier.keras")
reloaded = keras.models.load_model("digit_classifier.keras")
assert isinstance(reloaded, DigitClassifier) and reloaded.hidden == 64
np.testing.assert_allclose(
    reloaded.predict(x_test, verbose=0), model.predict(x_test, verbose=0), rtol=1e-5, atol=1e-6
)
# Training goes on from the saved state.
reloaded.fit(x_train, y_train, batch_size=32, epochs=1, verbose=0)
_, again = reloaded.evaluate(x_test, y_test, verbose=0)
assert again > 0.85, again
print("OK")
