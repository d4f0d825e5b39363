"""Save -> load round trips of models built from every layer family: same predictions, and
training continues bit-identically after loading."""

import numpy as np
import pytest

import eigennet as keras
from eigennet import layers


def _cnn():
    return keras.Sequential(
        [
            keras.Input(shape=(8, 8, 2)),
            layers.Conv2D(4, 3, padding="same", activation="relu"),
            layers.BatchNormalization(),
            layers.MaxPooling2D(2),
            layers.Conv2D(3, (2, 2), strides=1, dilation_rate=1),
            layers.AveragePooling2D(pool_size=2, padding="same"),
            layers.Flatten(),
            layers.Dropout(0.2, seed=3),
            layers.Dense(3, activation="softmax"),
        ]
    )


def _conv1d():
    return keras.Sequential(
        [
            keras.Input(shape=(10, 3)),
            layers.Conv1D(4, 3, padding="causal", dilation_rate=2, activation="tanh"),
            layers.LayerNormalization(),
            layers.MaxPooling1D(2),
            layers.GlobalAveragePooling1D(),
            layers.Dense(3, activation="softmax"),
        ]
    )


def _embedding():
    return keras.Sequential(
        [
            keras.Input(shape=(6,)),
            layers.Embedding(12, 4),
            layers.Reshape((6, 4, 1)),
            layers.GlobalMaxPooling2D(),
            layers.Dense(3, activation="softmax"),
        ]
    )


def _data(model, rng):
    shape = model.input_shape[1:]
    if isinstance(model.layers[0], layers.Embedding):
        x = rng.integers(0, 12, size=(40, *shape)).astype("float32")
    else:
        x = rng.normal(size=(40, *shape)).astype("float32")
    return x, keras.utils.to_categorical(rng.integers(0, 3, size=40), 3)


@pytest.mark.parametrize("build", [_cnn, _conv1d, _embedding], ids=lambda f: f.__name__[1:])
def test_save_load_continue_is_bit_identical(build, tmp_path):
    rng = np.random.default_rng(0)
    keras.utils.set_random_seed(5)
    model = build()
    x, y = _data(model, rng)
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    keras.utils.set_random_seed(1)
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert [type(layer) for layer in loaded.layers] == [type(layer) for layer in model.layers]
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    for m in (model, loaded):
        keras.utils.set_random_seed(2)
        m.fit(x, y, epochs=4, initial_epoch=2, batch_size=8, verbose=0)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
