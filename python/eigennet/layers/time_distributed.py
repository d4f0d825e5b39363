"""TimeDistributed: a layer applied to every temporal slice of its inputs, natively.

The wrapper's samples are `(time, *inner sample)`; read row-major, a batch of them is the
batch of `batch * time` inner samples, so the native wrapper runs the inner layer once on that
view (one GEMM for a Dense over every step of the batch). Its weights are the inner layer's
(one parameter block, shared), as Keras's. The inner layer must be one of eigennet's native
built-in layers (Dense, Conv1D/2D, their transposes, pooling, Flatten, ...); a layer written
with keras.ops (a custom layer) raises a ValueError.
"""

from __future__ import annotations

from eigennet import _core
from eigennet.layers.layer import Layer, dtype_from_config


class TimeDistributed(Layer):
    """Applies `layer` to every temporal slice (axis 1) of the inputs.

    Args:
        layer: A `keras.layers.Layer` instance (a built-in layer computed natively).

    Input shape: `(batch, time, *inner input)`. Output: `(batch, time, *inner output)`.
    """

    # Keras: the input's mask passes on to the output (the steps are the same).
    supports_masking = True

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(
                "Please initialize `TimeDistributed` layer with a `keras.layers.Layer` "
                f"instance. Received: {layer}"
            )
        if getattr(layer, "_traced", False) or getattr(layer, "_multi_input", False):
            raise ValueError(
                f"TimeDistributed wraps eigennet's native one-input layers (Dense, Conv2D, "
                f"...), got {type(layer).__name__}, which is written with keras.ops"
            )
        super().__init__(**kwargs)
        self.layer = layer

    def build(self, input_shape) -> None:
        if self.built:
            return
        shape = tuple(input_shape)
        if len(shape) < 3:
            raise ValueError(
                "`TimeDistributed` Layer should be passed an `input_shape` with at least 3 "
                f"dimensions, received: {shape}"
            )
        inner_shape = (shape[0], *shape[2:])
        if not self.layer.built:
            self.layer.build(inner_shape)
        elif tuple(self.layer.input_shape[1:]) != tuple(shape[2:]):
            raise ValueError(
                f"TimeDistributed: the wrapped layer {self.layer.name!r} was built for inputs "
                f"{self.layer.input_shape}, not for the steps of {shape}"
            )
        self._inner_values = [w.numpy() for w in self.layer.weights]
        super().build(shape)

    def _make_core(self, dtype):
        if dtype != self.layer.dtype:
            raise ValueError(
                f"TimeDistributed ({dtype}) and its layer ({self.layer.dtype}) must share a dtype"
            )
        return getattr(_core, f"TimeDistributed_{dtype}")(self.layer._core)

    def _weight_regularizers(self):
        return self.layer._weight_regularizers()

    @property
    def _activation_after(self):
        """The wrapped layer's activation that its core does not run (Dense(activation=
        "mish")): run after the wrapper's node, on every step's features as in Keras."""
        return getattr(self.layer, "_activation_after", None)

    def _weight_constraints(self):
        return self.layer._weight_constraints()

    def _initialize(self):
        # The wrapper's block is the inner layer's, which building refilled with zeros.
        for var, value in zip(self.layer.weights, self._inner_values, strict=True):
            var.assign(value)
        self._inner_values = None

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        inner = self.layer.compute_output_shape((shape[0], *shape[2:]))
        return (shape[0], shape[1], *tuple(inner)[1:])

    def get_config(self) -> dict:
        from eigennet.saving import serialization_lib

        return {
            **super().get_config(),
            "layer": serialization_lib.serialize_keras_object(self.layer),
        }

    @classmethod
    def from_config(cls, config: dict, custom_objects=None):
        from eigennet.saving import serialization_lib

        config = dtype_from_config(dict(config))
        layer = serialization_lib.deserialize_keras_object(
            config.pop("layer"), custom_objects=custom_objects
        )
        return cls(layer, **config)
