"""RMSNormalization (Keras 3): `x * rsqrt(mean(x ** 2 over axis) + epsilon) * scale`."""

from __future__ import annotations

from eigennet import ops
from eigennet.layers._ops_layer import OpsLayer


class RMSNormalization(OpsLayer):
    """Root-mean-square normalization over `axis` (an int or a list of ints, default -1),
    with a trained `scale` (ones at first) of the normalized axes' shape; `epsilon` 1e-6.
    Written with keras.ops and traced into the graph, as Keras's layer calls
    `ops.rms_normalization`."""

    def __init__(self, axis=-1, epsilon=1e-6, **kwargs):
        super().__init__(**kwargs)
        axes = axis if isinstance(axis, (list, tuple)) else [axis]
        if not axes or not all(isinstance(a, int) and not isinstance(a, bool) for a in axes):
            raise ValueError(
                f"RMSNormalization: axis must be an int or a list of ints, got {axis!r}"
            )
        self.axis = axis
        self.epsilon = float(epsilon)

    def build(self, input_shape):
        rank = len(input_shape)
        axes = sorted(self.axis) if isinstance(self.axis, (list, tuple)) else [self.axis]
        for a in axes:
            if not -rank <= a < rank:
                raise ValueError(
                    f"Axis {a} is out of bounds for input shape {tuple(input_shape)}. "
                    f"Received: axis={self.axis}"
                )
        shape = tuple(input_shape[a] for a in axes)
        if any(d is None for d in shape):
            raise ValueError(f"RMSNormalization: the normalized axes of {tuple(input_shape)} "
                             "must have known lengths")  # fmt: skip
        self.axis = axes  # as Keras's build (its config then lists them)
        self.scale = self.add_weight(name="scale", shape=shape, initializer="ones")

    def call(self, x, training=None):
        return ops.rms_normalization(x, scale=self.scale, axis=self.axis, epsilon=self.epsilon)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon}
