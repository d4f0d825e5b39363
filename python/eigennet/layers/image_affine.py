"""Random affine augmentation: RandomTranslation, RandomRotation and RandomZoom.

Each draws one transform per image at every training batch (natively, from its
`SeedGenerator`) and resamples the image at the transformed coordinates with
`affine_transform` below: Keras's torch-backend `ops.image.affine_transform` (its
`map_coordinates` with order 0 or 1) written with keras.ops, so it is traced into the graph.
The four neighbours of each output pixel are gathered with `ops.take_along_axis` at indices
computed in the graph from the draws; the gradient flows to the image (the sampling weights
come from the random draws and carry none). In inference the layers are the identity.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from eigennet import ops
from eigennet.layers.image_preprocessing import _factor_pair, _RandomImageLayer

FILL_MODES = ("reflect", "wrap", "constant", "nearest")
INTERPOLATIONS = ("nearest", "bilinear")


def _fix_index(index, size: int, fill_mode: str):
    """Keras's index fixers: the index read for a coordinate outside `[0, size)`."""
    if fill_mode in ("constant", "nearest"):
        return ops.clip(index, 0, size - 1)
    if fill_mode == "wrap":
        return index % size
    # "reflect" (d c b a | a b c d | d c b): Keras's mirror of 2 * index + 1 over 2 * size + 1
    s = 2 * size  # (2 * size + 1) - 1, the mirror's half wavelength
    mirrored = ops.abs((2 * index + 1 + s) % (2 * s) - s)
    return (mirrored - 1) // 2


def affine_transform(
    images,
    transform,
    interpolation: str = "bilinear",
    fill_mode: str = "constant",
    fill_value: float = 0.0,
    channels_first: bool = False,
):
    """Keras's `ops.image.affine_transform` for a batch of images (rank 4).

    `transform` is `[a0, a1, a2, b0, b1, b2, c0, c1]` per image (c0 = c1 = 0): the output
    pixel at (row y, column x) reads the input at column `a0 x + a1 y + a2`, row
    `b0 x + b1 y + b2`. Given as an array of shape (batch, 8), or as a list of 6 operands
    each broadcasting to (batch, 1, 1) (symbolic per-image draws).
    """
    if channels_first:
        images = ops.transpose(images, (0, 2, 3, 1))
    _, height, width, channels = images.shape
    if isinstance(transform, np.ndarray):
        transform = transform.astype(np.float32)
        a0, a1, a2, b0, b1, b2 = (transform[:, k].reshape(-1, 1, 1) for k in range(6))
    else:
        a0, a1, a2, b0, b1, b2 = transform
    dtype = "float32"  # Keras computes the coordinates in float32
    rows = np.arange(height, dtype=dtype)[:, None] * np.ones((1, width), dtype=dtype)
    cols = np.ones((height, 1), dtype=dtype) * np.arange(width, dtype=dtype)[None, :]
    source_row = rows * b1 + cols * b0 + b2  # (batch, height, width)
    source_col = rows * a1 + cols * a0 + a2
    if interpolation == "nearest":
        nodes_row = [(ops.round(source_row), None)]
        nodes_col = [(ops.round(source_col), None)]
    else:
        low_row, low_col = ops.floor(source_row), ops.floor(source_col)
        up_row, up_col = source_row - low_row, source_col - low_col
        nodes_row = [(low_row, 1.0 - up_row), (low_row + 1.0, up_row)]
        nodes_col = [(low_col, 1.0 - up_col), (low_col + 1.0, up_col)]
    flat = ops.reshape(images, (-1, height * width * channels))
    channel = np.arange(channels, dtype=dtype)
    # Each node's fixed index (scaled to the flat layout) and, with "constant", validity.
    fixed_rows = [_fix_index(r, height, fill_mode) * float(width * channels) for r, _ in nodes_row]
    fixed_cols = [_fix_index(c, width, fill_mode) * float(channels) for c, _ in nodes_col]
    out = outside = None
    for (row, row_weight), fixed_row in zip(nodes_row, fixed_rows):
        for (col, col_weight), fixed_col in zip(nodes_col, fixed_cols):
            index = ops.expand_dims(fixed_row + fixed_col, -1) + channel  # (batch, h, w, c)
            index = ops.cast(ops.reshape(index, (-1, height * width * channels)), "int32")
            value = ops.reshape(ops.take_along_axis(flat, index, axis=1),
                                (-1, height, width, channels))  # fmt: skip
            weight = None if row_weight is None else row_weight * col_weight  # (batch, h, w)
            if fill_mode == "constant":  # Keras: where(valid, value, fill_value) * weight
                valid = ops.cast((row >= 0) & (row < height) & (col >= 0) & (col < width),
                                 dtype)  # fmt: skip
                lost = 1.0 - valid if weight is None else weight * (1.0 - valid)
                outside = lost if outside is None else outside + lost
                weight = valid if weight is None else weight * valid
            term = value if weight is None else value * ops.expand_dims(weight, -1)
            out = term if out is None else out + term
    if outside is not None and fill_value != 0:
        out = out + ops.expand_dims(outside, -1) * float(fill_value)
    if channels_first:
        out = ops.transpose(out, (0, 3, 1, 2))
    return out


class _AffineLayer(_RandomImageLayer):
    _factor_error = (
        "The `factor` argument should be a number (or a list of two numbers) in the range "
        "[-1.0, 1.0]. "
    )
    _open_below = False  # RandomZoom's factors must be > -1 (a zoom of 1 + f > 0)

    def __init__(
        self, fill_mode="reflect", interpolation="bilinear", seed=None, fill_value=0.0, **kwargs
    ):
        super().__init__(seed=seed, **kwargs)
        if fill_mode not in FILL_MODES:
            raise NotImplementedError(
                f"Unknown `fill_mode` {fill_mode}. Expected of one {FILL_MODES}."
            )
        if interpolation not in INTERPOLATIONS:
            raise NotImplementedError(
                f"Unknown `interpolation` {interpolation}. Expected of one {INTERPOLATIONS}."
            )
        self.fill_mode = fill_mode
        self.interpolation = interpolation
        self.fill_value = fill_value

    def _pair(self, factor, name: str) -> tuple[float, float]:
        """Keras's translation/zoom factor rule: a number f is (-|f|, |f|), a pair is
        sorted; each in [-1, 1] (zoom: (-1, 1])."""

        def check(value):
            if not isinstance(value, numbers.Real) or isinstance(value, bool):
                raise ValueError(self._factor_error + f"Received: {name}={factor}")
            if value > 1.0 or value < -1.0 or (self._open_below and value == -1.0):
                raise ValueError(self._factor_error + f"Received: input_number={value}")

        if isinstance(factor, (tuple, list)):
            if len(factor) != 2:
                raise ValueError(self._factor_error + f"Received: {name}={factor}")
            check(factor[0])
            check(factor[1])
            lower, upper = sorted(factor)
            return lower, upper
        if isinstance(factor, numbers.Real) and not isinstance(factor, bool):
            check(factor)
            return -abs(factor), abs(factor)
        raise ValueError(self._factor_error + f"Received: {name}={factor}")

    def _size(self, x) -> tuple[int, int]:
        axes = self._spatial_axes()
        return x.shape[axes[0]], x.shape[axes[1]]

    def _transform(self, x):
        raise NotImplementedError

    def call(self, inputs, training=True):
        x, single = self._as_batch(inputs)
        if training:
            x = affine_transform(
                x,
                self._transform(x),
                self.interpolation,
                self.fill_mode,
                self.fill_value,
                self.data_format == "channels_first",
            )
        return x[0] if single else x

    def _draw(self, x, minval: float, maxval: float):
        """One uniform draw per image, shaped (batch, 1, 1)."""
        from eigennet import random
        from eigennet.ops.symbolic import is_symbolic

        batch = None if is_symbolic(x) else x.shape[0]
        draw = random.uniform((batch, 1, 1), 0.0, 1.0, dtype="float32", seed=self.generator)
        return draw * np.float32(maxval - minval) + np.float32(minval)  # maxval may be minval

    def get_config(self):
        return {
            **super().get_config(),
            "fill_mode": self.fill_mode,
            "interpolation": self.interpolation,
            "seed": self.seed,
            "fill_value": self.fill_value,
            "data_format": self.data_format,
        }


class RandomTranslation(_AffineLayer):
    """Translates images at random in training, by up to `height_factor * height` rows and
    `width_factor * width` columns, filling the uncovered pixels by `fill_mode`.

    Args:
        height_factor, width_factor: A number f in [-1, 1] (shifts in `[-|f|, |f|]` of the
            size) or a pair (lower, upper).
        fill_mode: "reflect" (default), "wrap", "constant" or "nearest".
        interpolation: "bilinear" (default) or "nearest".
        seed: Optional int seeding the draws.
        fill_value: The value outside the image with `fill_mode="constant"`.
        data_format: "channels_last" (default) or "channels_first".
    """

    _factor_error = (
        "The `factor` argument should be a number (or a list of two numbers) in the range "
        "[-1.0, 1.0]. "
    )

    def __init__(
        self,
        height_factor,
        width_factor,
        fill_mode="reflect",
        interpolation="bilinear",
        seed=None,
        fill_value=0.0,
        data_format=None,
        **kwargs,
    ):
        super().__init__(
            fill_mode, interpolation, seed, fill_value, data_format=data_format, **kwargs
        )
        self.height_factor = height_factor
        self.height_lower, self.height_upper = self._pair(height_factor, "height_factor")
        self.width_factor = width_factor
        self.width_lower, self.width_upper = self._pair(width_factor, "width_factor")

    def _transform(self, x):
        height, width = self._size(x)
        shift_rows = self._draw(x, self.height_lower, self.height_upper) * float(height)
        shift_cols = self._draw(x, self.width_lower, self.width_upper) * float(width)
        return [1.0, 0.0, -shift_cols, 0.0, 1.0, -shift_rows]

    def get_config(self):
        return {
            **super().get_config(),
            "height_factor": self.height_factor,
            "width_factor": self.width_factor,
        }


class RandomRotation(_AffineLayer):
    """Rotates images at random in training about their centre, by an angle drawn from
    `factor * 360` degrees (a number f: `[-|f|, |f|]`; a pair: that range), filling the
    uncovered pixels by `fill_mode`.

    Args:
        factor: A number in [-1, 1] or a pair, in fractions of a full turn.
        fill_mode, interpolation, seed, fill_value, data_format: as RandomTranslation.
    """

    def __init__(
        self,
        factor,
        fill_mode="reflect",
        interpolation="bilinear",
        seed=None,
        fill_value=0.0,
        data_format=None,
        **kwargs,
    ):
        super().__init__(
            fill_mode, interpolation, seed, fill_value, data_format=data_format, **kwargs
        )
        self.factor = _factor_pair(factor, (-1, 1))

    def _transform(self, x):
        height, width = self._size(x)
        degrees = self._draw(x, self.factor[0] * 360.0, self.factor[1] * 360.0)
        angle = degrees * np.float32(math.pi / 180.0)
        cos, sin = ops.cos(angle), ops.sin(angle)
        cx, cy = 0.5 * (width - 1), 0.5 * (height - 1)
        a0, a1 = cos, -sin
        b0, b1 = sin, cos
        return [a0, a1, cx - cx * a0 - cy * a1, b0, b1, cy - cx * b0 - cy * b1]

    def get_config(self):
        config = super().get_config()
        return {**config, "factor": self.factor}


class RandomZoom(_AffineLayer):
    """Zooms images at random in training: each axis is scaled by `1 + f` with f drawn from
    the factor's range (positive f zooms out, as Keras), about the image's centre.

    Args:
        height_factor: A number f in (-1, 1] (`[-|f|, |f|]`) or a pair.
        width_factor: The same for the width; None (default) zooms both axes alike.
        fill_mode, interpolation, seed, fill_value, data_format: as RandomTranslation.
    """

    _factor_error = (
        "The `height_factor` and `width_factor` arguments should be a number (or a list of "
        "two numbers) in the range (-1.0, 1.0]. "
    )
    _open_below = True

    def __init__(
        self,
        height_factor,
        width_factor=None,
        fill_mode="reflect",
        interpolation="bilinear",
        seed=None,
        fill_value=0.0,
        data_format=None,
        **kwargs,
    ):
        super().__init__(
            fill_mode, interpolation, seed, fill_value, data_format=data_format, **kwargs
        )
        self.height_factor = height_factor
        self.height_lower, self.height_upper = self._pair(height_factor, "height_factor")
        self.width_factor = width_factor
        if width_factor is not None:
            self.width_lower, self.width_upper = self._pair(width_factor, "width_factor")

    def _transform(self, x):
        height, width = self._size(x)
        zoom_rows = self._draw(x, 1.0 + self.height_lower, 1.0 + self.height_upper)
        if self.width_factor is None:
            zoom_cols = zoom_rows
        else:
            zoom_cols = self._draw(x, 1.0 + self.width_lower, 1.0 + self.width_upper)
        offset_cols = (width - 1.0) / 2.0 * (1.0 - zoom_cols)
        offset_rows = (height - 1.0) / 2.0 * (1.0 - zoom_rows)
        return [zoom_cols, 0.0, offset_cols, 0.0, zoom_rows, offset_rows]

    def get_config(self):
        return {
            **super().get_config(),
            "height_factor": self.height_factor,
            "width_factor": self.width_factor,
        }
