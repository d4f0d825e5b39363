"""Upsampling of sequences, images and volumes: UpSampling1D, UpSampling2D and UpSampling3D.

Written with keras.ops and traced into the graph: "nearest" repeats steps, rows and columns
(`ops.repeat`); "bilinear" multiplies the rows and the columns by fixed interpolation
matrices (`ops.einsum`), the half-pixel rule of Keras's `ops.image.resize` (PyTorch's
`interpolate(mode="bilinear", align_corners=False)`, TensorFlow's `resize` without
antialiasing), so the gradient is that of the same linear map.
"""

from __future__ import annotations

import numpy as np

from eigennet import ops
from eigennet.layers._ops_layer import OpsLayer, standardize_data_format, standardize_tuple

_INTERPOLATIONS = ("nearest", "bilinear")


class UpSampling1D(OpsLayer):
    """Repeats each step of `(batch, steps, features)` inputs `size` times.

    Args:
        size: Positive int, the upsampling factor.
    """

    _input_ndim = 3

    def __init__(self, size=2, **kwargs):
        super().__init__(**kwargs)
        if isinstance(size, bool) or not isinstance(size, int):
            raise TypeError(f"Expected an integer value for `size`, got {type(size)}.")
        if size <= 0:
            raise ValueError(f"Argument `size` should be a positive integer. Received: size={size}")
        self.size = size

    def call(self, inputs, training=None):
        self._check_rank(inputs)
        return ops.repeat(inputs, self.size, axis=1)

    def get_config(self):
        return {**super().get_config(), "size": self.size}


def bilinear_matrix(n: int, factor: int) -> np.ndarray:
    """The `(n * factor, n)` matrix of bilinear upsampling along one axis, half-pixel
    centres: output i reads the input at `(i + 0.5) / factor - 0.5`, clamped to the data."""
    out = n * factor
    source = np.maximum((np.arange(out) + 0.5) / factor - 0.5, 0.0)
    low = np.minimum(np.floor(source).astype(np.int64), n - 1)
    high = np.minimum(low + 1, n - 1)
    frac = source - low
    matrix = np.zeros((out, n))
    np.add.at(matrix, (np.arange(out), low), 1.0 - frac)
    np.add.at(matrix, (np.arange(out), high), frac)
    return matrix


class UpSampling2D(OpsLayer):
    """Upsamples images by `size` (rows, columns).

    Args:
        size: Int or tuple of 2 positive ints, the factors for rows and columns.
        data_format: "channels_last" (default) or "channels_first".
        interpolation: "nearest" (repeats rows and columns) or "bilinear". Keras's
            "bicubic", "lanczos3" and "lanczos5" raise a ValueError here.
    """

    _input_ndim = 4

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format)
        self.size = standardize_tuple(size, 2, "size")
        if not isinstance(interpolation, str) or interpolation.lower() not in _INTERPOLATIONS:
            raise ValueError(
                "UpSampling2D: `interpolation` must be one of 'nearest', 'bilinear' (eigennet "
                f"does not have Keras's other methods yet). Received: "
                f"interpolation={interpolation!r}"
            )
        self.interpolation = interpolation.lower()

    def call(self, inputs, training=None):
        shape = self._check_rank(inputs)
        first = 2 if self.data_format == "channels_first" else 1
        if self.interpolation == "nearest":
            x = ops.repeat(inputs, self.size[0], axis=first)
            return ops.repeat(x, self.size[1], axis=first + 1)
        from eigennet.ops.symbolic import is_symbolic

        dtype = (
            self._native_dtype if is_symbolic(inputs) else _float_dtype(inputs, self._native_dtype)
        )
        rows = bilinear_matrix(shape[first], self.size[0]).astype(dtype)
        cols = bilinear_matrix(shape[first + 1], self.size[1]).astype(dtype)
        if first == 1:  # (batch, rows, cols, channels)
            x = ops.einsum("Rr,brcd->bRcd", rows, inputs)
            x = ops.einsum("Cc,bRcd->bRCd", cols, x)
        else:  # (batch, channels, rows, cols)
            x = ops.einsum("Rr,bdrc->bdRc", rows, inputs)
            x = ops.einsum("Cc,bdRc->bdRC", cols, x)
        return x

    def get_config(self):
        return {
            **super().get_config(),
            "size": self.size,
            "data_format": self.data_format,
            "interpolation": self.interpolation,
        }


class UpSampling3D(OpsLayer):
    """Repeats each plane, row and column of volumes `size` times (nearest neighbour).

    Args:
        size: Int or tuple of 3 positive ints, the factors along depth, rows and columns.
        data_format: "channels_last" (default, `(batch, depth, rows, cols, channels)`) or
            "channels_first".
    """

    _input_ndim = 5

    def __init__(self, size=(2, 2, 2), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = standardize_data_format(data_format)
        self.size = standardize_tuple(size, 3, "size")

    def call(self, inputs, training=None):
        self._check_rank(inputs)
        first = 2 if self.data_format == "channels_first" else 1
        x = inputs
        for axis, factor in enumerate(self.size, start=first):
            x = ops.repeat(x, factor, axis=axis)
        return x

    def get_config(self):
        return {**super().get_config(), "size": self.size, "data_format": self.data_format}


def _float_dtype(inputs, default: str) -> str:
    dtype = np.asarray(inputs).dtype
    return str(dtype) if dtype.kind == "f" else default
