"""Zero padding and cropping of sequences, images and volumes: ZeroPadding1D/2D/3D,
Cropping1D/2D/3D.

Written with keras.ops (`ops.pad`, slicing) and traced into the graph; channels_last by
default, channels_first where Keras has it (all but Cropping1D).
"""

from __future__ import annotations

from eigennet import ops
from eigennet.layers._ops_layer import OpsLayer, pairs, standardize_data_format, standardize_tuple


class ZeroPadding1D(OpsLayer):
    """Pads the steps axis of `(batch, steps, features)` inputs with zeros.

    Args:
        padding: Int (the same at both ends) or a tuple of 2 ints (start, end), >= 0.
        data_format: "channels_last" (default) or "channels_first" (`(batch, features,
            steps)`).
    """

    _input_ndim = 3

    def __init__(self, padding=1, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format)
        self.padding = standardize_tuple(padding, 2, "padding", allow_zero=True)

    def call(self, inputs, training=None):
        self._check_rank(inputs)
        widths = [(0, 0), (0, 0), (0, 0)]
        widths[2 if self.data_format == "channels_first" else 1] = self.padding
        return ops.pad(inputs, widths)

    def get_config(self):
        return {**super().get_config(), "padding": self.padding, "data_format": self.data_format}


class _SpatialZeroPadding(OpsLayer):
    """Zeros around the spatial axes: `padding` holds a (before, after) pair per axis."""

    padding: tuple

    def call(self, inputs, training=None):
        self._check_rank(inputs)
        if self.data_format == "channels_first":
            widths = [(0, 0), (0, 0), *self.padding]
        else:
            widths = [(0, 0), *self.padding, (0, 0)]
        return ops.pad(inputs, widths)

    def get_config(self):
        return {**super().get_config(), "padding": self.padding, "data_format": self.data_format}


class ZeroPadding2D(_SpatialZeroPadding):
    """Pads the rows and columns of images with zeros.

    Args:
        padding: Int (the same on every side), a tuple of 2 ints (symmetric height and
            width padding) or 2 tuples of 2 ints ((top, bottom), (left, right)), >= 0.
        data_format: "channels_last" (default) or "channels_first".
    """

    _input_ndim = 4

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format)
        self.padding = pairs(padding, "padding", "pad")


def _crop(size: int, start: int, end: int) -> slice:
    return slice(start, size - end)


class Cropping1D(OpsLayer):
    """Crops the steps axis of `(batch, steps, features)` inputs.

    Args:
        cropping: Int (the same at both ends) or a tuple of 2 ints (start, end), >= 0; they
            must leave at least one step.
    """

    _input_ndim = 3

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__(**kwargs)
        self.cropping = standardize_tuple(cropping, 2, "cropping", allow_zero=True)

    def call(self, inputs, training=None):
        shape = self._check_rank(inputs)
        if sum(self.cropping) >= shape[1]:
            raise ValueError(
                "`cropping` parameter of `Cropping1D` layer must be smaller than the input "
                f"length. Received: inputs.shape={shape}, cropping={self.cropping}"
            )
        return inputs[:, _crop(shape[1], *self.cropping), :]

    def get_config(self):
        return {**super().get_config(), "cropping": self.cropping}


class Cropping2D(OpsLayer):
    """Crops the rows and columns of images.

    Args:
        cropping: Int (the same on every side), a tuple of 2 ints (symmetric height and
            width cropping) or 2 tuples of 2 ints ((top, bottom), (left, right)), >= 0; they
            must leave at least one row and one column.
        data_format: "channels_last" (default) or "channels_first".
    """

    _input_ndim = 4

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format)
        self.cropping = pairs(cropping, "cropping", "crop")

    def call(self, inputs, training=None):
        shape = self._check_rank(inputs)
        first = 2 if self.data_format == "channels_first" else 1
        rows, cols = shape[first], shape[first + 1]
        if sum(self.cropping[0]) >= rows or sum(self.cropping[1]) >= cols:
            raise ValueError(
                "Values in `cropping` argument should be smaller than the corresponding "
                f"spatial dimension of the input. Received: inputs.shape={shape}, "
                f"cropping={self.cropping}"
            )
        crops = (_crop(rows, *self.cropping[0]), _crop(cols, *self.cropping[1]))
        key = (slice(None), slice(None), *crops) if first == 2 else (slice(None), *crops)
        return inputs[key]

    def get_config(self):
        return {**super().get_config(), "cropping": self.cropping, "data_format": self.data_format}


class ZeroPadding3D(_SpatialZeroPadding):
    """Pads the three spatial axes of volumes with zeros.

    Args:
        padding: Int (the same on every side), a tuple of 3 ints (symmetric per axis) or 3
            tuples of 2 ints ((before, after) per axis), >= 0 (default 1 everywhere).
        data_format: "channels_last" (default, `(batch, depth, rows, cols, channels)`) or
            "channels_first".
    """

    _input_ndim = 5

    def __init__(self, padding=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format)
        self.padding = pairs(padding, "padding", "pad", n=3)


class Cropping3D(OpsLayer):
    """Crops the three spatial axes of volumes.

    Args:
        cropping: Int (the same on every side), a tuple of 3 ints (symmetric per axis) or 3
            tuples of 2 ints ((before, after) per axis), >= 0 (default 1 everywhere); they
            must leave at least one position along each axis.
        data_format: "channels_last" (default) or "channels_first".
    """

    _input_ndim = 5

    def __init__(self, cropping=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format)
        self.cropping = pairs(cropping, "cropping", "crop", n=3)

    def call(self, inputs, training=None):
        shape = self._check_rank(inputs)
        first = 2 if self.data_format == "channels_first" else 1
        sizes = shape[first : first + 3]
        if any(sum(c) >= d for c, d in zip(self.cropping, sizes) if d is not None):
            raise ValueError(
                "Values in `cropping` argument should be smaller than the corresponding "
                f"spatial dimension of the input. Received: inputs.shape={shape}, "
                f"cropping={self.cropping}"
            )
        crops = tuple(slice(before, -after or None) for before, after in self.cropping)
        return inputs[(slice(None),) * first + crops]

    def get_config(self):
        return {**super().get_config(), "cropping": self.cropping, "data_format": self.data_format}
