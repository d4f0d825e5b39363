"""Save, serialize and export models, in the style of Keras's guide, on scikit-learn's digits.

The whole model in a `.keras` file (a custom layer and a custom function registered with
`register_keras_serializable`, or given as `custom_objects`), the config alone as a dict and
as JSON (`to_json` / `model_from_json`), weights alone (`save_weights` / `load_weights` in
`.weights.h5` files, `get_weights` / `set_weights` between models of the same architecture),
and `clone_model`.
"""

import json
import os
import tempfile

import numpy as np
from sklearn.datasets import load_digits

import eigennet as keras
from eigennet import layers, ops

keras.utils.set_random_seed(13)

digits = load_digits()
x = (digits.data / 16.0).astype("float32")
y = digits.target.astype("int64")


@keras.saving.register_keras_serializable(package="my_package", name="custom_fn")
def custom_fn(x):
    return x**2


@keras.saving.register_keras_serializable(package="MyLayers")
class CustomLayer(layers.Layer):
    def __init__(self, factor, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, x):
        return x * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


@keras.saving.register_keras_serializable(package="my_package", name="MyDense")
class MyDense(layers.Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units), name="w")
        self.b = self.add_weight(shape=(self.units,), initializer="zeros", name="b")

    def call(self, inputs):
        return ops.matmul(inputs, self.w) + self.b

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def get_model():
    inputs = keras.Input(shape=(64,))
    h = CustomLayer(0.5)(inputs)
    h = MyDense(32)(h)
    h = layers.Activation(custom_fn)(h)
    outputs = layers.Dense(10, activation="softmax")(h)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


model = get_model()
model.fit(x, y, batch_size=64, epochs=3, verbose=0)
expected = model.predict(x[:32], verbose=0)

with tempfile.TemporaryDirectory() as tmp:
    # ## The whole model: architecture, weights and the optimizer's state
    path = os.path.join(tmp, "custom_model.keras")
    model.save(path)
    reconstructed = keras.models.load_model(path)
    np.testing.assert_allclose(reconstructed.predict(x[:32], verbose=0), expected, rtol=1e-6)
    # The optimizer's state came back: training goes on as it would have.
    assert int(reconstructed.optimizer.iterations) == int(model.optimizer.iterations)
    reconstructed.fit(x, y, batch_size=64, epochs=1, verbose=0, shuffle=False)
    model.fit(x, y, batch_size=64, epochs=1, verbose=0, shuffle=False)
    np.testing.assert_allclose(
        reconstructed.predict(x[:32], verbose=0), model.predict(x[:32], verbose=0), rtol=1e-5
    )

    # Without the registrations the classes come from custom_objects.
    custom_objects = {"CustomLayer": CustomLayer, "custom_fn": custom_fn, "MyDense": MyDense}
    with keras.saving.custom_object_scope(custom_objects):
        again = keras.models.load_model(path)
    assert [type(layer).__name__ for layer in again.layers] == [
        type(layer).__name__ for layer in model.layers
    ]

    # ## Weights alone
    weights_path = os.path.join(tmp, "my.weights.h5")
    model.save_weights(weights_path)
    fresh = get_model()
    fresh.load_weights(weights_path)
    np.testing.assert_allclose(
        fresh.predict(x[:32], verbose=0), model.predict(x[:32], verbose=0), rtol=1e-6
    )

# ## The config alone: a dict, or JSON

config = model.get_config()
from_config = keras.Model.from_config(config)
assert len(from_config.weights) == len(model.weights)
json_config = model.to_json()
assert json.loads(json_config)["class_name"] == "Functional"
from_json = keras.models.model_from_json(json_config)
from_json.set_weights(model.get_weights())
np.testing.assert_allclose(
    from_json.predict(x[:32], verbose=0), model.predict(x[:32], verbose=0), rtol=1e-6
)

# A layer's config and weights carry to a new layer.
layer = layers.Dense(3, activation="relu")
layer.build((None, 5))
layer_copy = layers.Dense.from_config(layer.get_config())
layer_copy.build((None, 5))
layer_copy.set_weights(layer.get_weights())
probe = np.random.rand(2, 5).astype("float32")
np.testing.assert_array_equal(
    ops.convert_to_numpy(layer_copy(probe)), ops.convert_to_numpy(layer(probe))
)

# ## Sequential models: config, clone_model and weight transfer


def create_sequential():
    return keras.Sequential(
        [
            keras.Input(shape=(64,)),
            layers.Dense(32, activation="relu", name="dense_1"),
            layers.Dense(10, name="predictions"),
        ]
    )


sequential = create_sequential()
clone = keras.models.clone_model(sequential)
assert [layer.name for layer in clone.layers] == ["dense_1", "predictions"]
assert not np.array_equal(clone.get_weights()[0], sequential.get_weights()[0])  # fresh weights
clone.set_weights(sequential.get_weights())
np.testing.assert_array_equal(clone.predict(x[:8], verbose=0), sequential.predict(x[:8], verbose=0))
seq_config = sequential.get_config()
assert seq_config["name"] == sequential.name
rebuilt = keras.Sequential.from_config(seq_config)
assert [layer.name for layer in rebuilt.layers] == ["dense_1", "predictions"]
print("OK")
