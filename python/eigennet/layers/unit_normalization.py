"""UnitNormalization: each sample scaled to unit L2 norm along `axis` (written with keras.ops,
traced into the graph)."""

from __future__ import annotations

from eigennet import ops
from eigennet.layers._ops_layer import OpsLayer, _is_int

_EPSILON = 1e-12  # Keras's: norms below it are treated as it (zero stays zero)


class UnitNormalization(OpsLayer):
    """`x / max(||x||, 1e-12)`, the L2 norm taken over `axis`.

    Args:
        axis: Int or list/tuple of ints, the axes to normalize over (default -1).
    """

    supports_masking = True  # passes Keras's mask on (see masking.py)

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)) and all(_is_int(a) for a in axis):
            self.axis = [int(a) for a in axis]
        elif _is_int(axis):
            self.axis = int(axis)
        else:
            raise TypeError(
                "Invalid value for `axis` argument: expected an int or a list/tuple of ints. "
                f"Received: axis={axis}"
            )

    def call(self, inputs, training=None):
        shape = self._check_rank(inputs)
        axes = [self.axis] if isinstance(self.axis, int) else self.axis
        for axis in axes:
            if axis >= len(shape) or axis < -len(shape):
                raise ValueError(f"Axis {self.axis} is out of bounds for input shape {shape}.")
        squares = ops.sum(ops.square(inputs), axis=tuple(axes), keepdims=True)
        # x * min(rsqrt(s), 1 / eps) as Keras, written so that zero inputs get zero gradients
        scale = ops.rsqrt(ops.maximum(squares, _EPSILON**2))
        return inputs * scale

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}
