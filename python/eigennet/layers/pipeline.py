"""Keras's `layers.Pipeline`: layers applied one after the other, kept as one layer (a
preprocessing chain to put in a model or to call on arrays)."""

from __future__ import annotations

from eigennet.layers.layer import Layer


class Pipeline(Layer):
    """Applies `layers` in order. Traced into the graph like any layer with sublayers; the
    model's mode reaches them (augmentation in fit only). Called on arrays it runs in
    training mode unless given `training=False`, as Keras's Pipeline.

    Args:
        layers: A list of layers.
        name: Optional name.
    """

    def __init__(self, layers, name=None):
        super().__init__(name=name)
        if not isinstance(layers, (list, tuple)) or not all(isinstance(x, Layer) for x in layers):
            raise ValueError(f"Pipeline takes a list of layers. Received: layers={layers!r}")
        self._pipeline_layers = list(layers)

    @property
    def layers(self) -> list:
        return self._pipeline_layers

    def call(self, inputs, training=True):
        for layer in self._pipeline_layers:
            inputs = layer(inputs, training=training)
        return inputs

    def compute_output_shape(self, input_shape):
        for layer in self._pipeline_layers:
            input_shape = layer.compute_output_shape(input_shape)
        return input_shape

    def get_config(self) -> dict:
        from eigennet.saving import serialization_lib

        return {
            "layers": serialization_lib.serialize_keras_object(self._pipeline_layers),
            "name": self.name,
        }

    @classmethod
    def from_config(cls, config: dict, custom_objects=None):
        from eigennet.saving import serialization_lib

        layers = config.get("layers")
        if not isinstance(layers, (list, tuple)):
            raise ValueError(
                "`Pipeline` config must contain a `layers` key mapping to a list of serialized "
                f"layers. Received config with layers={layers}."
            )
        config = {**config}
        config["layers"] = [
            serialization_lib.deserialize_keras_object(x, custom_objects=custom_objects)
            for x in layers
        ]
        return cls(**config)
