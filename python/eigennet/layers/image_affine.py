"""Random affine augmentation: RandomTranslation, RandomRotation and RandomZoom.

Each draws its parameters per image at every training batch (natively, from its
`SeedGenerator`: a random op of the graph), maps them to one transform row per image (a small
product `features @ matrix + offset`, in the graph) and resamples the images with
`ops.image.affine_transform`, one native op. The gradient flows to the images; the draws carry
none. In inference the layers are the identity.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from eigennet import ops
from eigennet.layers.image_preprocessing import _factor_pair, _RandomImageLayer
from eigennet.ops import image as image_ops

FILL_MODES = ("reflect", "wrap", "constant", "nearest")
INTERPOLATIONS = ("nearest", "bilinear")
_IDENTITY = np.array([1, 0, 0, 0, 1, 0, 0, 0])  # the transform's offset of a translation


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

        error = f"{type(self).__name__}: {self._factor_error}"

        def check(value):
            if not isinstance(value, numbers.Real) or isinstance(value, bool):
                raise ValueError(error + f"Received: {name}={factor}")
            if value > 1.0 or value < -1.0 or (self._open_below and value == -1.0):
                raise ValueError(error + f"Received: {name}={factor}")

        if isinstance(factor, (tuple, list)):
            if len(factor) != 2:
                raise ValueError(error + f"Received: {name}={factor}")
            check(factor[0])
            check(factor[1])
            lower, upper = sorted(factor)
            return lower, upper
        if isinstance(factor, numbers.Real) and not isinstance(factor, bool):
            check(factor)
            return -abs(factor), abs(factor)
        raise ValueError(error + f"Received: {name}={factor}")

    def _size(self, x) -> tuple[int, int]:
        axes = self._spatial_axes()
        return x.shape[axes[0]], x.shape[axes[1]]

    def _transform(self, x):
        """(features (batch, n), matrix (n, 8), offset (8,)): the transforms are
        `features @ matrix + offset`, one row per image."""
        raise NotImplementedError

    def call(self, inputs, training=True):
        x, single = self._as_batch(inputs)
        if training:
            features, matrix, offset = self._transform(x)
            transform = ops.matmul(features, matrix.astype(np.float32)) + offset.astype(np.float32)
            x = image_ops.sample(
                x,
                transform,
                self.interpolation,
                self.fill_mode,
                self.fill_value,
                self.data_format == "channels_first",
            )
        return x[0] if single else x

    def _draw(self, x, lower, upper):
        """Uniform draws per image, shaped (batch, n): column i in [lower[i], upper[i])."""
        from eigennet import random
        from eigennet.ops.symbolic import is_symbolic

        lower = np.asarray(lower, np.float32)
        span = np.asarray(upper, np.float32) - lower  # may be 0 (a factor of one value)
        batch = None if is_symbolic(x) else x.shape[0]
        draw = random.uniform((batch, len(lower)), 0.0, 1.0, dtype="float32", seed=self.generator)
        return draw * span + lower

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
        shifts = self._draw(  # fractions of the size: (rows, cols)
            x, (self.height_lower, self.width_lower), (self.height_upper, self.width_upper)
        )
        matrix = np.zeros((2, 8))
        matrix[0, 5], matrix[1, 2] = -height, -width  # the input is read at minus the shift
        return shifts, matrix, _IDENTITY

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
        self.factor = _factor_pair(factor, (-1, 1), "RandomRotation")

    def _transform(self, x):
        height, width = self._size(x)
        degrees = self._draw(x, (self.factor[0] * 360.0,), (self.factor[1] * 360.0,))
        angle = degrees * np.float32(math.pi / 180.0)
        features = ops.concatenate([ops.cos(angle), ops.sin(angle)], axis=1)
        # About the centre (cx, cy): a0 = b1 = cos, b0 = -a1 = sin,
        # a2 = cx - cx a0 - cy a1, b2 = cy - cx b0 - cy b1.
        cx, cy = 0.5 * (width - 1), 0.5 * (height - 1)
        matrix = np.array([[1, 0, -cx, 0, 1, -cy, 0, 0], [0, -1, cy, 1, 0, -cx, 0, 0]])
        return features, matrix, np.array([0, 0, cx, 0, 0, cy, 0, 0])

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
        # About the centre: a0 = zoom of the cols, a2 = cx (1 - a0); b1, b2 likewise the rows.
        cx, cy = (width - 1.0) / 2.0, (height - 1.0) / 2.0
        rows = np.array([0, 0, 0, 0, 1, -cy, 0, 0])
        cols = np.array([1, 0, -cx, 0, 0, 0, 0, 0])
        offset = np.array([0, 0, cx, 0, 0, cy, 0, 0])
        if self.width_factor is None:  # one zoom for both axes
            zoom = self._draw(x, (1.0 + self.height_lower,), (1.0 + self.height_upper,))
            return zoom, (rows + cols)[None], offset
        zoom = self._draw(
            x,
            (1.0 + self.height_lower, 1.0 + self.width_lower),
            (1.0 + self.height_upper, 1.0 + self.width_upper),
        )
        return zoom, np.stack([rows, cols]), offset

    def get_config(self):
        return {
            **super().get_config(),
            "height_factor": self.height_factor,
            "width_factor": self.width_factor,
        }


class RandomShear(_AffineLayer):
    """Shears images at random in training, as Keras's RandomShear: each image draws a shear
    along x and along y from their factors and one sign for both, and reads its output pixel
    (row, col) at (row + sy * col, col + sx * row), filling by `fill_mode`.

    Args:
        x_factor, y_factor: A number f in [0, 1] (shears in (-f, f)) or a pair in [-1, 1]
            (default 0: none along that axis).
        interpolation: "bilinear" (default) or "nearest".
        fill_mode: "reflect" (default), "wrap", "constant" or "nearest".
        fill_value: The value outside the image with `fill_mode="constant"`.
        data_format: "channels_last" (default) or "channels_first".
        seed: Optional int seeding the draws.
    """

    _factor_error = (
        "The `factor` argument should be a number (or a list of two numbers) in the range "
        "[0, 1.0]. "
    )

    def __init__(
        self,
        x_factor=0.0,
        y_factor=0.0,
        interpolation="bilinear",
        fill_mode="reflect",
        fill_value=0.0,
        data_format=None,
        seed=None,
        **kwargs,
    ):
        super().__init__(
            fill_mode, interpolation, seed, fill_value, data_format=data_format, **kwargs
        )
        self.x_factor = self._shear_pair(x_factor, "x_factor")
        self.y_factor = self._shear_pair(y_factor, "y_factor")

    def _shear_pair(self, factor, name: str) -> tuple[float, float]:
        # A pair may hold negative values: the config of a number f holds (-f, f), which
        # Keras's own from_config then refuses.
        pair = isinstance(factor, (tuple, list))
        values, lowest = (factor, -1.0) if pair else ([factor], 0.0)
        if len(values) != (2 if pair else 1) or any(
            not isinstance(v, numbers.Real) or isinstance(v, bool) or not lowest <= v <= 1.0
            for v in values
        ):
            raise ValueError(f"RandomShear: {self._factor_error}Received: {name}={factor}")
        if pair:
            lower, upper = sorted(factor)
            return lower, upper
        return -abs(factor), abs(factor)

    def _transform(self, x):
        draws = self._draw(  # (sign, shear y, shear x)
            x, (0.0, self.y_factor[0], self.x_factor[0]), (1.0, self.y_factor[1], self.x_factor[1])
        )
        sign = ops.where(draws[:, 0:1] > 0.5, -1.0, 1.0)
        shears = draws[:, 1:3] * sign
        matrix = np.zeros((2, 8))
        matrix[0, 3], matrix[1, 1] = 1.0, 1.0  # y: the row's offset per col; x: the reverse
        return shears, matrix, _IDENTITY.astype(np.float64)

    def get_config(self):
        config = super().get_config()
        return {**config, "x_factor": self.x_factor, "y_factor": self.y_factor}
