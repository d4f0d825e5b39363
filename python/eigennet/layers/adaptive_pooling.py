"""Adaptive pooling (Keras 3's AdaptiveAveragePooling1D/2D/3D and AdaptiveMaxPooling1D/2D/3D):
pooling to a fixed output size whatever the input size, with `ops.adaptive_average_pool` and
`ops.adaptive_max_pool` (PyTorch's bins), traced into the graph."""

from __future__ import annotations

from eigennet import ops
from eigennet.layers._ops_layer import OpsLayer, standardize_data_format, standardize_tuple


class _AdaptivePooling(OpsLayer):
    rank = 2
    mode = "average"

    def __init__(self, output_size, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self._input_ndim = self.rank + 2
        self.output_size = standardize_tuple(output_size, self.rank, "output_size")
        self.data_format = standardize_data_format(data_format)

    def call(self, inputs, training=None):
        self._check_rank(inputs)
        pool = ops.adaptive_max_pool if self.mode == "max" else ops.adaptive_average_pool
        return pool(inputs, self.output_size, data_format=self.data_format)

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        first = 2 if self.data_format == "channels_first" else 1
        shape[first : first + self.rank] = self.output_size
        return tuple(shape)

    def get_config(self):
        return {
            **super().get_config(),
            "output_size": self.output_size,
            "data_format": self.data_format,
        }


def _adaptive(name: str, rank: int, mode: str):
    spatial = {1: "steps", 2: "rows and columns", 3: "depth, rows and columns"}[rank]
    doc = f"""Adaptive {mode} pooling of the {spatial} to `output_size` (the {mode} over bins
    [floor(i n / out), ceil((i + 1) n / out)) of each axis of n), as Keras's {name}.

    Args:
        output_size: An int or {rank} ints, the output's spatial size.
        data_format: "channels_last" (default) or "channels_first".
    """
    return type(name, (_AdaptivePooling,), {"rank": rank, "mode": mode, "__doc__": doc,
                                            "__module__": __name__})  # fmt: skip


AdaptiveAveragePooling1D = _adaptive("AdaptiveAveragePooling1D", 1, "average")
AdaptiveAveragePooling2D = _adaptive("AdaptiveAveragePooling2D", 2, "average")
AdaptiveAveragePooling3D = _adaptive("AdaptiveAveragePooling3D", 3, "average")
AdaptiveMaxPooling1D = _adaptive("AdaptiveMaxPooling1D", 1, "max")
AdaptiveMaxPooling2D = _adaptive("AdaptiveMaxPooling2D", 2, "max")
AdaptiveMaxPooling3D = _adaptive("AdaptiveMaxPooling3D", 3, "max")
