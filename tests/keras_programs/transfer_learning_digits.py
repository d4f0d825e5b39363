"""Transfer learning and fine-tuning, in the style of Keras's guide, on scikit-learn's digits.

A small convolutional base (with BatchNormalization) is trained on the digits 0-4, then
reused for a new task, telling 5-9 apart: frozen (`trainable = False`) under a new head, its
BatchNormalization kept in inference mode by calling it with `training=False`; then unfrozen
and fine-tuned end to end with a low learning rate after compiling again. Also a feature
extractor made from the base's intermediate outputs.
"""

import numpy as np
from sklearn.datasets import load_digits

import eigennet as keras
from eigennet import layers

keras.utils.set_random_seed(5)

digits = load_digits()
images = digits.images.astype("float32")[..., np.newaxis]  # 0..16
labels = digits.target
old_task, new_task = labels < 5, labels >= 5
x_old, y_old = images[old_task], labels[old_task]
x_new, y_new = images[new_task], labels[new_task] - 5
split = int(0.7 * len(x_new))
x_new_train, y_new_train = x_new[:split], y_new[:split]
x_new_test, y_new_test = x_new[split:], y_new[split:]

# ## The base model, trained on the first task

base_inputs = keras.Input(shape=(8, 8, 1))
x = layers.Rescaling(scale=1.0 / 8.0, offset=-1.0)(base_inputs)
x = layers.Conv2D(16, 3, padding="same", use_bias=False)(x)
x = layers.BatchNormalization()(x)
x = layers.Activation("relu")(x)
x = layers.Conv2D(32, 3, padding="same", activation="relu")(x)
features = layers.MaxPooling2D(2, name="features")(x)
base_model = keras.Model(base_inputs, features, name="digit_base")

pretrain = keras.Sequential(
    [base_model, layers.GlobalAveragePooling2D(), layers.Dense(5, activation="softmax")]
)
pretrain.compile(
    optimizer=keras.optimizers.Adam(1e-2),
    loss="sparse_categorical_crossentropy",
    metrics=["accuracy"],
)
pretrain.fit(x_old, y_old, batch_size=64, epochs=8, verbose=0)
print("first task accuracy", pretrain.evaluate(x_old, y_old, verbose=0)[1])

# ## Freeze the base, add a new head

base_model.trainable = False
assert base_model.trainable_weights == []
assert len(base_model.non_trainable_weights) == 7  # conv, 4 BN, conv kernel and bias

inputs = keras.Input(shape=(8, 8, 1))
augmented = layers.RandomFlip("horizontal", seed=1)(inputs)  # active only in training
x = base_model(augmented, training=False)  # BatchNormalization stays in inference mode
x = layers.GlobalAveragePooling2D()(x)
x = layers.Dropout(0.2)(x)
outputs = layers.Dense(5)(x)
model = keras.Model(inputs, outputs)
assert len(model.trainable_weights) == 2
model.summary()

model.compile(
    optimizer=keras.optimizers.Adam(1e-2),
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    metrics=[keras.metrics.SparseCategoricalAccuracy()],
)
frozen = [w.copy() for w in base_model.get_weights()]
moving_mean = base_model.layers[3].moving_mean.numpy().copy()
history = model.fit(
    x_new_train, y_new_train, batch_size=32, epochs=20, verbose=0, validation_split=0.2
)
assert sorted(history.history) == [
    "loss",
    "sparse_categorical_accuracy",
    "val_loss",
    "val_sparse_categorical_accuracy",
]
# Nothing in the frozen base moved, not even BatchNormalization's statistics.
assert all(np.array_equal(a, b) for a, b in zip(frozen, base_model.get_weights()))
np.testing.assert_array_equal(base_model.layers[3].moving_mean.numpy(), moving_mean)
_, head_accuracy = model.evaluate(x_new_test, y_new_test, verbose=0)
print(f"new task, frozen base: {head_accuracy:.3f}")

# ## Fine-tuning: unfreeze, compile again, train with a low learning rate

base_model.trainable = True
assert len(model.trainable_weights) == 2 + 5  # BN's moving statistics stay non-trainable
model.compile(
    optimizer=keras.optimizers.Adam(1e-3),
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    metrics=[keras.metrics.SparseCategoricalAccuracy()],
)
model.fit(x_new_train, y_new_train, batch_size=32, epochs=10, verbose=0)
assert not all(np.array_equal(a, b) for a, b in zip(frozen, base_model.get_weights()))
_, tuned_accuracy = model.evaluate(x_new_test, y_new_test, verbose=0)
print(f"new task, fine-tuned: {tuned_accuracy:.3f}")
assert tuned_accuracy > 0.6

# ## A feature extractor from the base's intermediate outputs (shared weights)

extractor = keras.Model(
    inputs=base_model.inputs,
    outputs=[layer.output for layer in base_model.layers if isinstance(layer, layers.Conv2D)],
)
first_maps, second_maps = (keras.ops.convert_to_numpy(m) for m in extractor(x_new_test[:4]))
assert first_maps.shape == (4, 8, 8, 16) and second_maps.shape == (4, 8, 8, 32)
pooled = base_model.predict(x_new_test[:4], verbose=0)
np.testing.assert_allclose(pooled, second_maps.reshape(4, 4, 2, 4, 2, 32).max((2, 4)), rtol=1e-5)
print("OK")
