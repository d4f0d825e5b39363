"""Keras 3 names programs reach for that are aliases here: `utils.clear_session` (resets the
automatic layer names), `config.backend` / `image_data_format`, the initializers' lowercase
class names, `utils.serialize_keras_object` / `deserialize_keras_object`, and the
`serialize` / `deserialize` of `keras.layers`, `keras.losses` and `keras.optimizers`."""

import numpy as np
import pytest

import eigennet as keras


def test_clear_session_in_utils_resets_automatic_names():
    keras.layers.Dense(1)
    keras.utils.clear_session()
    assert keras.layers.Dense(1).name == "dense"


def test_config_names():
    assert keras.config.backend() == keras.backend.backend() == "eigennet"
    assert keras.config.image_data_format() == "channels_last"
    keras.config.set_image_data_format("channels_last")
    with pytest.raises(ValueError, match="channels_last"):
        keras.config.set_image_data_format("channels_first")


def test_lowercase_initializers_are_the_classes():
    assert keras.initializers.he_normal is keras.initializers.HeNormal
    a = keras.initializers.glorot_uniform(seed=3)((4, 5))
    b = keras.initializers.GlorotUniform(seed=3)((4, 5))
    np.testing.assert_array_equal(a, b)
    layer = keras.layers.Dense(2, kernel_initializer=keras.initializers.zeros())
    layer.build((None, 3))
    assert not layer.kernel.numpy().any()


def test_serialize_and_deserialize_keras_objects():
    config = keras.utils.serialize_keras_object(keras.layers.Dense(3, name="d"))
    assert config["class_name"] == "Dense"
    layer = keras.utils.deserialize_keras_object(config)
    assert isinstance(layer, keras.layers.Dense) and layer.units == 3 and layer.name == "d"


def test_layers_losses_optimizers_serialize_and_deserialize():
    layer = keras.layers.Dense(3, activation="relu", name="d")
    config = keras.layers.serialize(layer)
    assert config["module"] == "keras.layers" and config["class_name"] == "Dense"
    again = keras.layers.deserialize(config)
    assert isinstance(again, keras.layers.Dense) and again.get_config() == layer.get_config()
    loss = keras.losses.deserialize(keras.losses.serialize(keras.losses.Huber(delta=2.0)))
    assert isinstance(loss, keras.losses.Huber) and loss.delta == 2.0
    assert keras.losses.deserialize("mse") is keras.losses.get("mse")
    optimizer = keras.optimizers.deserialize(
        keras.optimizers.serialize(keras.optimizers.Adam(learning_rate=0.01, beta_1=0.8))
    )
    assert isinstance(optimizer, keras.optimizers.Adam)
    assert optimizer.get_config()["beta_1"] == 0.8
    assert np.isclose(optimizer.learning_rate, 0.01)
    assert isinstance(keras.optimizers.deserialize("sgd"), keras.optimizers.SGD)
    with pytest.raises(ValueError):
        keras.layers.deserialize({"class_name": "NoSuchLayer", "config": {}})
