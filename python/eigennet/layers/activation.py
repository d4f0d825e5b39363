"""Activation layer."""

from __future__ import annotations

from eigennet import _core, activations
from eigennet.layers.layer import Layer


class Activation(Layer):
    """Applies an activation function to its input.

    Args:
        activation: Activation name or function of `eigennet.activations`.

    Input shape: any. Output shape: the same.
    """

    supports_masking = True  # passes Keras's mask on (see masking.py)

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self._activation_name = activations.native_name(activation)
        self.activation = activations.get(self._activation_name)

    def _make_core(self, dtype):
        return getattr(_core, f"Activation_{dtype}")(self._activation_name)

    def get_config(self):
        return {**super().get_config(), "activation": self._activation_name}
