"""The Sequential model, in the style of Keras's guide, on scikit-learn's digits.

Built all at once or with `add()` and `pop()`; no weights until it knows its input shape
(`build`, or the first call); `summary()` as it grows; a feature extractor made of every
layer's output, or one named layer's; and transfer learning by freezing all layers but the
last.
"""

import numpy as np
from sklearn.datasets import load_digits

import eigennet as keras
from eigennet import layers, ops

keras.utils.set_random_seed(21)

digits = load_digits()
x = (digits.data / 16.0).astype("float32")
y = digits.target.astype("int64")

model = keras.Sequential(
    [
        layers.Dense(2, activation="relu", name="layer1"),
        layers.Dense(3, activation="relu", name="layer2"),
        layers.Dense(4, name="layer3"),
    ]
)
out = model(ops.ones((3, 3)))
assert tuple(out.shape) == (3, 4)
assert [layer.name for layer in model.layers] == ["layer1", "layer2", "layer3"]

model = keras.Sequential()
model.add(layers.Dense(2, activation="relu"))
model.add(layers.Dense(3, activation="relu"))
model.add(layers.Dense(4))
assert len(model.layers) == 3
model.pop()
assert len(model.layers) == 2

# No weights until the input shape is known.
layer = layers.Dense(3)
assert layer.weights == []
layer(ops.ones((1, 4)))
assert len(layer.weights) == 2

model = keras.Sequential(
    [layers.Dense(2, activation="relu"), layers.Dense(3, activation="relu"), layers.Dense(4)]
)
assert model.weights == [] and not model.built
model.build((None, 4))
assert len(model.weights) == 6 and model.built
model.summary()

# Specifying the input shape in advance: summary() as layers are added.
model = keras.Sequential()
model.add(keras.Input(shape=(8, 8, 1)))
model.add(layers.Conv2D(8, 3, activation="relu"))
model.add(layers.Conv2D(8, 3, activation="relu"))
model.summary()
model.add(layers.MaxPooling2D(2))
model.add(layers.GlobalMaxPooling2D())
model.add(layers.Dense(10))
model.summary()
assert model.output_shape == (None, 10)

# ## Feature extraction with a Sequential model

initial_model = keras.Sequential(
    [
        keras.Input(shape=(64,)),
        layers.Dense(32, activation="relu"),
        layers.Dense(32, activation="relu", name="my_intermediate_layer"),
        layers.Dense(10),
    ]
)
feature_extractor = keras.Model(
    inputs=initial_model.inputs, outputs=[layer.output for layer in initial_model.layers]
)
features = feature_extractor(x[:5])
assert [tuple(f.shape) for f in features] == [(5, 32), (5, 32), (5, 10)]
np.testing.assert_allclose(
    ops.convert_to_numpy(features[-1]), initial_model.predict(x[:5], verbose=0), rtol=1e-5
)
intermediate = keras.Model(
    inputs=initial_model.inputs,
    outputs=initial_model.get_layer(name="my_intermediate_layer").output,
)
np.testing.assert_allclose(
    intermediate.predict(x[:5], verbose=0), ops.convert_to_numpy(features[1]), rtol=1e-5
)

# ## Transfer learning: freeze all layers except the last

model = keras.Sequential(
    [
        keras.Input(shape=(64,)),
        layers.Dense(32, activation="relu"),
        layers.Dense(32, activation="relu"),
        layers.Dense(10),
    ]
)
model.compile(
    optimizer="adam",
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    metrics=["accuracy"],
)
model.fit(x[y < 5], y[y < 5], epochs=10, batch_size=32, verbose=0)  # "pretraining"
for layer in model.layers[:-1]:
    layer.trainable = False
frozen = [w.copy() for w in model.get_weights()[:4]]
model.compile(
    optimizer="adam",
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    metrics=["accuracy"],
)
history = model.fit(x, y, epochs=10, batch_size=32, verbose=0)
assert all(np.array_equal(a, b) for a, b in zip(frozen, model.get_weights()[:4]))
assert len(model.trainable_weights) == 2
print("accuracy with the frozen base", round(history.history["accuracy"][-1], 3))
assert history.history["accuracy"][-1] > history.history["accuracy"][0]
print("OK")
