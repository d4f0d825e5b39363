"""Saving and loading models (Keras 3's `keras.saving`).

`model.save("model.keras")` / `load_model("model.keras")` keep the architecture, the compile
config, the weights, the optimizer state and the layers' random state, so training continues
bit-identically. With h5py installed (`pip install "eigennet[h5]"`) the weights are Keras 3's
`model.weights.h5`, so Keras 3's `load_model` opens the file; without it they are NumPy
`.npz` (never pickled), which only eigennet reads. `model.save_weights("w.weights.h5")`
(or `.weights.npz`) / `model.load_weights(...)` keep the state only.
"""

from eigennet.saving.file_io import LoadError
from eigennet.saving.object_registration import (
    CustomObjectScope,
    custom_object_scope,
    get_custom_objects,
    get_registered_name,
    get_registered_object,
    register_keras_serializable,
)
from eigennet.saving.saving_lib import (
    FORMAT_VERSION,
    load_model,
    load_weights,
    model_from_json,
    save_model,
    save_weights,
)
from eigennet.saving.serialization_lib import deserialize_keras_object, serialize_keras_object

__all__ = [
    "CustomObjectScope",
    "FORMAT_VERSION",
    "custom_object_scope",
    "get_custom_objects",
    "get_registered_name",
    "get_registered_object",
    "register_keras_serializable",
    "LoadError",
    "deserialize_keras_object",
    "load_model",
    "load_weights",
    "model_from_json",
    "save_model",
    "save_weights",
    "serialize_keras_object",
]
