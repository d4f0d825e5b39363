"""A model over structured features built with `keras.tree` and top-level `keras.Layer`.

Tabular records arrive as a nested dict: numeric readings grouped by sensor and one-hot
flags. A feature spec of the same nesting gives each leaf's width; `keras.tree.map_structure`
turns it into `keras.Input`s, `keras.tree.flatten` orders them (sorted keys, as Keras
flattens dicts) for the model, and `keras.tree.map_structure_up_to` normalizes each sensor
group. The per-feature scaling layer subclasses `keras.Layer`. The label is whether a hidden
linear score of the features is positive. The input dtypes come from
`keras.backend.result_type`, and the dict of arrays is fed to fit as Keras takes it.
"""

import numpy as np

import eigennet as keras
from eigennet import layers

keras.utils.set_random_seed(11)
rng = np.random.default_rng(11)

spec = {
    "flags": {"region": 4, "weekday": 7},
    "sensors": {"pressure": 3, "temperature": 2, "vibration": 5},
}
dtype = keras.backend.result_type("float16", "float32")
assert dtype == "float32"
assert keras.tree.flatten(spec) == [4, 7, 3, 2, 5]
assert [path for path, _ in keras.tree.flatten_with_path(spec)][0] == ("flags", "region")


def make_records(n):
    def leaf(width, path_kind):
        if path_kind == "flags":
            return np.eye(width, dtype=dtype)[rng.integers(0, width, size=n)]
        return rng.normal(size=(n, width)).astype(dtype) * rng.uniform(1, 20)

    records = {
        group: {name: leaf(width, group) for name, width in features.items()}
        for group, features in spec.items()
    }
    flat = np.concatenate(keras.tree.flatten(records), axis=1)
    weights = np.linspace(-1.0, 1.0, flat.shape[1])
    flat_std = (flat - flat.mean(0)) / (flat.std(0) + 1e-6)
    return records, (flat_std @ weights > 0).astype("float32")


class FeatureScale(keras.Layer):
    """A learned scale per feature, initialized at one."""

    def build(self, input_shape):
        self.scale = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="scale")

    def call(self, x):
        return x * self.scale


train_records, train_labels = make_records(3000)
test_records, test_labels = make_records(600)

inputs = keras.tree.map_structure(lambda width: keras.Input(shape=(width,), dtype=dtype), spec)
normalized = keras.tree.map_structure_up_to(
    {"flags": None, "sensors": None},
    lambda group: (
        group
        if isinstance(group, dict) and "region" in group
        else {name: layers.BatchNormalization()(x) for name, x in group.items()}
    ),
    inputs,
)
features = layers.Concatenate()(keras.tree.flatten(normalized))
x = FeatureScale()(features)
x = layers.Dense(32, activation="relu")(x)
outputs = layers.Dense(1, activation="sigmoid")(x)
model = keras.Model(inputs, outputs)
model.compile(
    optimizer=keras.optimizers.Adam(3e-3), loss="binary_crossentropy", metrics=["accuracy"]
)
history = model.fit(
    train_records, train_labels, batch_size=64, epochs=12, verbose=0, validation_split=0.1
)
assert history.history["loss"][-1] < history.history["loss"][0]
loss, accuracy = model.evaluate(test_records, test_labels, verbose=0)
print(f"test accuracy {accuracy:.3f}")
assert accuracy > 0.85, accuracy

# The predictions for one record: the same nesting, one row.
one = keras.tree.map_structure(lambda a: a[:1], test_records)
assert model.predict(one, verbose=0).shape == (1, 1)
print("OK")
