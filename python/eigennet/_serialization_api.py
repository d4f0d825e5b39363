"""`serialize(obj)` and `deserialize(config, custom_objects=None)` of `keras.layers`,
`keras.losses` and `keras.optimizers`: Keras's serialized dicts through saving's
serialization_lib (imported when called: those modules load before it)."""

from __future__ import annotations


def kind_functions(kind: str, get=None):
    """The pair for one kind ("layers", "losses", "optimizers"); `get` (the kind's lookup)
    reads a plain name given to deserialize."""

    def serialize(obj):
        """Keras's serialized dict of the object."""
        from eigennet.saving.serialization_lib import serialize_keras_object

        return serialize_keras_object(obj)

    def deserialize(config, custom_objects=None):
        """The object a serialized dict (or, with a lookup, a name) describes."""
        if isinstance(config, str) and get is not None:
            return get(config)
        from eigennet.saving.serialization_lib import deserialize_keras_object

        return deserialize_keras_object(config, kind, custom_objects)

    return serialize, deserialize
