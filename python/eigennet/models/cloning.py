"""`keras.models.clone_model`: the same architecture with new layers and fresh weights."""

from __future__ import annotations


def clone_model(model, input_tensors=None, clone_function=None, call_function=None, **kwargs):
    """A new model of the same architecture, its layers made again from their configs (so
    with newly initialized weights, as Keras). Sequential, functional and subclassed models
    (from their get_config) are cloned; `input_tensors` and the clone functions are not
    supported yet."""
    from eigennet.saving.serialization_lib import deserialize_keras_object, serialize_keras_object

    if input_tensors is not None or clone_function is not None or call_function is not None:
        raise ValueError(
            "clone_model: input_tensors, clone_function and call_function are not supported "
            "by eigennet yet"
        )
    if kwargs:
        raise TypeError(f"clone_model got unexpected arguments: {', '.join(sorted(kwargs))}")
    config = serialize_keras_object(model)
    config.pop("compile_config", None)  # Keras's clone is not compiled
    clone = deserialize_keras_object(config, "models", {type(model).__name__: type(model)})
    if model.built and not clone.built:
        clone.build(model.input_shape)
    return clone
