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
