"""A residual MLP for tabular regression (a synthetic house-price-like data set).

Functional blocks of [Dense(relu) → Dense → add with the block input → ReLU] in the style of
Keras's residual examples (`layers.add`, `layers.Add`, `layers.Activation`), trained with a
validation split, a learning-rate schedule and early stopping; compared with a plain MLP of
the same depth; a feature extractor built from an intermediate block output; saved, loaded
and predicted again.
"""

import os

import numpy as np

import eigennet as keras
from eigennet import layers

keras.utils.set_random_seed(11)

# ## Data: 12 features, a target with interactions that a deep model fits better

rng = np.random.default_rng(0)
n = 6000
features = rng.normal(size=(n, 12)).astype("float32")
target = (
    2.0 * features[:, 0]
    - features[:, 1] * features[:, 2]
    + np.sin(2.0 * features[:, 3])
    + 0.5 * np.maximum(features[:, 4], 0) * features[:, 5]
    + 0.1 * rng.normal(size=n)
).astype("float32")
x_train, x_test = features[:5000], features[5000:]
y_train, y_test = target[:5000], target[5000:]

# ## Model


def residual_block(x, units, name):
    shortcut = x
    x = layers.Dense(units, activation="relu", name=f"{name}_dense_1")(x)
    x = layers.Dense(units, name=f"{name}_dense_2")(x)
    x = layers.add([x, shortcut], name=f"{name}_add")
    return layers.Activation("relu", name=f"{name}_out")(x)


def build_residual(units=64, blocks=3):
    inputs = keras.Input(shape=(12,), name="features")
    x = layers.Dense(units, activation="relu", name="stem")(inputs)
    for i in range(blocks):
        x = residual_block(x, units, f"block_{i}")
    # A last block ending in layers.Add() and a ReLU layer.
    y = layers.Dense(units, activation="relu")(x)
    y = layers.Dense(units)(y)
    x = layers.ReLU(name="last_out")(layers.Add()([x, y]))
    outputs = layers.Dense(1, name="price")(x)
    return keras.Model(inputs, outputs, name="residual_mlp")


def build_plain(units=64, depth=9):
    model = keras.Sequential([keras.Input(shape=(12,))], name="plain_mlp")
    for _ in range(depth):
        model.add(layers.Dense(units, activation="relu"))
    model.add(layers.Dense(1))
    return model


def train(model):
    schedule = keras.optimizers.schedules.ExponentialDecay(3e-3, decay_steps=200, decay_rate=0.9)
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss="mse", metrics=["mae"])
    history = model.fit(
        x_train,
        y_train,
        validation_split=0.2,
        epochs=40,
        batch_size=64,
        callbacks=[keras.callbacks.EarlyStopping(patience=5, restore_best_weights=True)],
        verbose=0,
    )
    return history


residual = build_residual()
residual.summary()
assert residual.get_layer("block_0_add").output.shape == (None, 64)
history = train(residual)
assert set(history.history) == {"loss", "mae", "val_loss", "val_mae"}
test_loss, test_mae = residual.evaluate(x_test, y_test, verbose=0)
print(f"residual MLP: test mse {test_loss:.4f}, mae {test_mae:.4f}")

plain = build_plain()
train(plain)
plain_loss, _ = plain.evaluate(x_test, y_test, verbose=0)
print(f"plain MLP:    test mse {plain_loss:.4f}")

baseline = float(np.var(y_test))
assert test_loss < 0.25 * baseline, (test_loss, baseline)  # it learned the function
assert test_loss < 1.5 * plain_loss, (test_loss, plain_loss)  # no worse than a plain MLP

# ## A feature extractor from an intermediate block (its output is now a model output)

extractor = keras.Model(residual.input, residual.get_layer("block_1_out").output)
embedded = extractor.predict(x_test[:8], verbose=0)
assert embedded.shape == (8, 64)
assert (embedded >= 0).all()  # the block ends in a relu
# The extractor shares the model's weights: zeroing the head changes the model's
# predictions, not the features.
before = residual.predict(x_test[:8], verbose=0)
head = residual.get_layer("price")
saved = head.get_weights()
head.set_weights([np.zeros_like(w) for w in saved])
np.testing.assert_allclose(extractor.predict(x_test[:8], verbose=0), embedded, rtol=1e-6)
assert np.abs(residual.predict(x_test[:8], verbose=0)).max() == 0.0
head.set_weights(saved)

# ## Save, load, predict again

path = os.path.join(os.getcwd(), "residual_mlp.keras")
residual.save(path)
restored = keras.models.load_model(path)
np.testing.assert_allclose(restored.predict(x_test[:8], verbose=0), before, rtol=1e-5, atol=1e-6)
print("predictions after loading match")
print("OK")
