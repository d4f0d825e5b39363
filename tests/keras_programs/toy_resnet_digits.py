"""A toy ResNet on scikit-learn's 8x8 handwritten digits, written with the Functional API.

Residual blocks joined by `layers.add`, logits trained with
`SparseCategoricalCrossentropy(from_logits=True)`, then: summary, save/load in the `.keras`
format with equal predictions, and a feature extractor built from an intermediate layer.
"""

import os

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import eigennet as keras
from eigennet import layers

keras.utils.set_random_seed(1337)

# ## Data: 8x8 grey images with values 0..16

digits = load_digits()
images = (digits.images / 16.0).astype("float32")[..., np.newaxis]  # (1797, 8, 8, 1)
x_train, x_test, y_train, y_test = train_test_split(
    images, digits.target, test_size=0.25, random_state=42, stratify=digits.target
)
print("x_train shape:", x_train.shape, "x_test shape:", x_test.shape)

# ## The model: a stem and two residual blocks


def residual_block(x, filters, name):
    shortcut = x
    x = layers.Conv2D(filters, 3, padding="same", name=f"{name}_conv1")(x)
    x = layers.BatchNormalization(momentum=0.9, name=f"{name}_bn1")(x)
    x = layers.ReLU(name=f"{name}_relu1")(x)
    x = layers.Conv2D(filters, 3, padding="same", name=f"{name}_conv2")(x)
    x = layers.BatchNormalization(momentum=0.9, name=f"{name}_bn2")(x)
    x = layers.add([x, shortcut], name=f"{name}_add")
    return layers.Activation("relu", name=f"{name}_out")(x)


inputs = keras.Input(shape=(8, 8, 1), name="img")
x = layers.Conv2D(16, 3, padding="same", activation="relu", name="stem")(inputs)
x = residual_block(x, 16, name="block1")
x = layers.MaxPooling2D(2, name="pool")(x)
x = residual_block(x, 16, name="block2")
x = layers.GlobalAveragePooling2D(name="gap")(x)
x = layers.Dense(32, activation="relu", name="fc")(x)
x = layers.Dropout(0.2)(x)
outputs = layers.Dense(10, name="logits")(x)

model = keras.Model(inputs, outputs, name="toy_resnet")
model.summary()

assert model.name == "toy_resnet"
assert model.input_shape == (None, 8, 8, 1)
assert model.output_shape == (None, 10)
assert model.get_layer("block2_add").output.shape == (None, 4, 4, 16)
assert isinstance(model.get_layer("block1_add"), layers.Add)

# ## Training

model.compile(
    optimizer=keras.optimizers.Adam(learning_rate=3e-3),
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    metrics=["accuracy"],
)
history = model.fit(x_train, y_train, batch_size=64, epochs=12, validation_split=0.1, verbose=2)
assert history.history["loss"][-1] < history.history["loss"][0]
assert "val_accuracy" in history.history

test_loss, test_acc = model.evaluate(x_test, y_test, verbose=0)
print(f"Test loss: {test_loss:.4f}")
print(f"Test accuracy: {test_acc:.4f}")
assert test_acc > 0.8, test_acc  # modest: rounding differs per instruction set

# ## Feature extraction from an intermediate layer

logits = model.predict(x_test, verbose=0)
assert logits.shape == (len(x_test), 10)
extractor = keras.Model(inputs=model.input, outputs=model.get_layer("gap").output)
features = extractor.predict(x_test, verbose=0)
assert features.shape == (len(x_test), 16)
# The extractor shares the trained layers: the head applied to its features gives the logits.
head_input = keras.Input(shape=(16,))
head = keras.Model(head_input, model.get_layer("logits")(model.get_layer("fc")(head_input)))
np.testing.assert_allclose(head.predict(features, verbose=0), logits, rtol=1e-4, atol=1e-4)

# All intermediate activations at once, as in the guide's VGG19 example.
activations = keras.Model(
    inputs=model.inputs, outputs=[layer.output for layer in model.layers[1:4]]
)
stem, conv1, bn1 = activations.predict(x_test[:5], verbose=0)
assert stem.shape == conv1.shape == bn1.shape == (5, 8, 8, 16)
assert stem.min() >= 0.0  # relu

# ## Save, reload, predict the same

model.save("toy_resnet.keras")
assert os.path.exists("toy_resnet.keras")
reloaded = keras.models.load_model("toy_resnet.keras")
np.testing.assert_allclose(reloaded.predict(x_test, verbose=0), logits, rtol=1e-5, atol=1e-5)
assert [layer.name for layer in reloaded.layers] == [layer.name for layer in model.layers]
reloaded_loss, reloaded_acc = reloaded.evaluate(x_test, y_test, verbose=0)
assert abs(reloaded_acc - test_acc) < 1e-6

print("OK")
