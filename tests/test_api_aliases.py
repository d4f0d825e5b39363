"""Keras 3 names programs reach for that are aliases here: `utils.clear_session` (resets the
automatic layer names), `config.backend` / `image_data_format`, the initializers' lowercase
class names, and `utils.serialize_keras_object` / `deserialize_keras_object`."""

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
