"""Activation layer."""

from __future__ import annotations

from eigennet import _core, activations
from eigennet.layers.layer import Layer


class Activation(Layer):
    """Applies an activation function to its input.

    Args:
        activation: An activation name, a function of `eigennet.activations`, or a function
            of your own written with `keras.ops` (traced into the graph as a custom layer's
            call(); the core runs the native activations itself).

    Input shape: any. Output shape: the same.
    """

    supports_masking = True  # passes Keras's mask on (see masking.py)

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)
        self._activation_name = activations.native_name_or_none(self.activation)

    @property
    def _traced(self) -> bool:
        return self._activation_name is None

    def call(self, inputs):
        """The activation of a traced (not native) Activation."""
        return self.activation(inputs)

    def _make_core(self, dtype):
        return getattr(_core, f"Activation_{dtype}")(self._activation_name)

    def get_config(self):
        return {**self._base_config(), "activation": activations.serialize(self.activation)}


class ActivationAfter:
    """The activation of a layer whose core computes linearly (Dense(activation="mish"), or
    a function of your own): run after the layer's node, traced into the graph once per
    output shape, as Keras applies `self.activation` at the end of the layer's call()."""

    def __init__(self, activation, owner: Layer):
        # Named after its owner: an automatic name would use up one of the user's.
        self._layer = Activation(activation, name=f"{owner.name}_activation",
                                 dtype=owner.dtype_policy)  # fmt: skip
        self._owner_name = owner.name
        self._traces: dict[tuple, object] = {}

    def __call__(self, outputs):
        """The activation of the layer's outputs, arrays."""
        return self._layer(outputs)

    def expand(self, builder, output: int, trains: bool) -> int:
        """Adds the activation of the layer's output tensor `output` to a GraphBuilder;
        returns the activation's tensor id."""
        from eigennet.models.graph_builder import expand_nodes

        shape = builder.shapes[output]
        if shape is None and not self._traces:  # shapes unknown: the places only, and an
            return output  # activation has no weights
        trace = self._trace(shape[1:]) if shape is not None else next(iter(self._traces.values()))
        nodes = (trace.placeholders, trace.nodes, trace.outputs)
        return expand_nodes(*nodes, builder, [output], trains)[0]

    def _trace(self, sample: tuple):
        sample = tuple(sample)
        if sample not in self._traces:
            out_shape = self._layer._build_in_stack((None, *sample))
            if tuple(out_shape[1:]) != sample:
                raise ValueError(
                    f"Layer {self._owner_name!r}: its activation must keep the shape of the "
                    f"layer's outputs {(None, *sample)}, got {tuple(out_shape)}"
                )
            self._traces[sample] = self._layer._standalone_trace
        return self._traces[sample]


def take_activation(layer: Layer, activation) -> None:
    """Sets the `activation` of a layer that takes one (Dense, the convolutions, EinsumDense):
    its core runs a native one itself (`_activation_name`); any other is `_activation_after`."""
    layer.activation = activations.get(activation)
    name = activations.native_name_or_none(layer.activation)
    layer._activation_name = name or "linear"
    layer._activation_after = None if name else ActivationAfter(layer.activation, layer)
