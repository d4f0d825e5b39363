"""Image preprocessing and augmentation: CenterCrop, Resizing, RandomFlip, RandomContrast,
RandomBrightness, RandomGrayscale, RandomInvert, RandomColorDegeneration and AutoContrast.

Written with keras.ops and keras.random and traced into the model's graph. Resizing is a
linear map along rows and along columns, so it multiplies by fixed interpolation matrices
(`ops.einsum`), with the sampling rules of Keras's torch backend (`F.interpolate`:
"bilinear" with half-pixel centres and no antialiasing, "nearest" as "nearest-exact"); its
gradient is the transposed map. The random layers draw natively at every training batch from
their `SeedGenerator` (seeded by `seed`, else by `utils.set_random_seed`'s stream) and are the
identity in inference (`predict`, `evaluate`, `layer(x)`); on arrays they transform only when
called with `training=True`, as in Keras.
"""

from __future__ import annotations

import numbers

import numpy as np

from eigennet import ops, random
from eigennet.layers._ops_layer import OpsLayer, check_seed, standardize_data_format

_INTERPOLATIONS = ("bilinear", "nearest")


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _positive_size(value, name: str, layer: str) -> int:
    if not _is_int(value) or value < 1:
        raise ValueError(f"{layer}: `{name}` must be a positive int. Received: {name}={value!r}")
    return int(value)


def resize_matrix(size_in: int, size_out: int, interpolation: str) -> np.ndarray:
    """The `(size_out, size_in)` matrix of resizing one axis, as PyTorch's
    `F.interpolate(align_corners=False)`: "bilinear" reads the input at
    `(i + 0.5) * size_in / size_out - 0.5` (clamped at 0, neighbours clamped to the data);
    "nearest" ("nearest-exact") takes the input at `floor((i + 0.5) * size_in / size_out)`."""
    scale = size_in / size_out
    out = np.arange(size_out)
    matrix = np.zeros((size_out, size_in))
    if interpolation == "nearest":
        source = np.minimum(np.floor((out + 0.5) * scale).astype(np.int64), size_in - 1)
        matrix[out, source] = 1.0
        return matrix
    source = np.maximum((out + 0.5) * scale - 0.5, 0.0)
    low = np.minimum(np.floor(source).astype(np.int64), size_in - 1)
    high = np.minimum(low + 1, size_in - 1)
    frac = source - low
    np.add.at(matrix, (out, low), 1.0 - frac)
    np.add.at(matrix, (out, high), frac)
    return matrix


def aspect_crop(height: int, width: int, target_height: int, target_width: int):
    """Keras's crop to the target's aspect ratio: (top, crop_height, left, crop_width), the
    centred box of the largest size with the target's aspect ratio."""
    crop_height = max(min(height, int(float(width * target_height) / target_width)), 1)
    crop_width = max(min(width, int(float(height * target_width) / target_height)), 1)
    top = int(float(height - crop_height) / 2)
    left = int(float(width - crop_width) / 2)
    return top, crop_height, left, crop_width


def _crop(x, axes: tuple[int, int], top: int, height: int, left: int, width: int):
    index = [slice(None)] * 4
    index[axes[0]] = slice(top, top + height)
    index[axes[1]] = slice(left, left + width)
    return x[tuple(index)]


def resize_images(
    x, size: tuple[int, int], interpolation: str, channels_first: bool, crop_to_aspect: bool
):
    """Resizes a batch of images (rank 4) with the interpolation matrices."""
    axes = (2, 3) if channels_first else (1, 2)
    height, width = x.shape[axes[0]], x.shape[axes[1]]
    if crop_to_aspect:
        top, height, left, width = aspect_crop(height, width, *size)
        if (height, width) != (x.shape[axes[0]], x.shape[axes[1]]):
            x = _crop(x, axes, top, height, left, width)
    if (height, width) == tuple(size) and interpolation in _INTERPOLATIONS:
        return x  # both rules are the identity at the same size
    from eigennet.ops.symbolic import is_symbolic

    dtype = x.dtype if is_symbolic(x) else np.asarray(x).dtype
    rows = resize_matrix(height, size[0], interpolation).astype(dtype)
    cols = resize_matrix(width, size[1], interpolation).astype(dtype)
    if channels_first:  # (batch, channels, rows, cols)
        x = ops.einsum("Rr,bdrc->bdRc", rows, x)
        return ops.einsum("Cc,bdRc->bdRC", cols, x)
    x = ops.einsum("Rr,brcd->bRcd", rows, x)
    return ops.einsum("Cc,bRcd->bRCd", cols, x)


def center_crop(x, size: tuple[int, int], channels_first: bool):
    """CenterCrop's rule on a batch: the centre `size` box, or, for an image smaller than it
    along an axis, the crop to its aspect ratio resized (bilinear)."""
    axes = (2, 3) if channels_first else (1, 2)
    height, width = x.shape[axes[0]], x.shape[axes[1]]
    if height >= size[0] and width >= size[1]:
        top, left = (height - size[0]) // 2, (width - size[1]) // 2
        return _crop(x, axes, top, size[0], left, size[1])
    return resize_images(x, size, "bilinear", channels_first, crop_to_aspect=True)


class _ImageLayer(OpsLayer):
    """Image layers take batches (rank 4) or, on arrays, one image (rank 3)."""

    _needs_size = True  # whether call() needs the height and width (not None)

    def _as_batch(self, inputs):
        """(float inputs of rank 4, whether a single image was given)."""
        shape = tuple(getattr(inputs, "shape", np.shape(inputs)))
        from eigennet.ops.symbolic import is_symbolic

        symbolic = is_symbolic(inputs)
        if len(shape) not in ((4,) if symbolic else (3, 4)):
            single = "" if symbolic else " or a single image of rank 3"
            raise ValueError(
                f"Layer {self.name!r} ({type(self).__name__}) expects images of rank 4 "
                f"(batch, height, width, channels){single}. Received: inputs.shape={shape}"
            )
        spatial = [shape[a - (4 - len(shape))] for a in self._spatial_axes()]
        if self._needs_size and None in spatial:
            raise ValueError(
                f"Layer {self.name!r} ({type(self).__name__}) needs images of a known height "
                f"and width in eigennet (Keras also takes variable sizes). Received: "
                f"inputs.shape={shape}"
            )
        x = ops.cast(inputs, self._native_dtype)
        if len(shape) == 3:
            return ops.expand_dims(x, 0), True
        return x, False

    def _spatial_axes(self) -> tuple[int, int]:
        return (2, 3) if self.data_format == "channels_first" else (1, 2)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)


class _SizedImageLayer(_ImageLayer):
    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        if len(shape) not in (3, 4):
            raise ValueError(
                "`input_shape` must be a non-nested tuple or list of rank-1 with size 3 "
                f"(unbatched) or 4 (batched). Received: input_shape={input_shape}"
            )
        first = len(shape) - 3 + (1 if self.data_format == "channels_first" else 0)
        shape[first], shape[first + 1] = self.height, self.width
        return tuple(shape)


class Resizing(_SizedImageLayer):
    """Resizes images to `(height, width)`.

    Args:
        height, width: Positive ints, the output size.
        interpolation: "bilinear" (default) or "nearest" (Keras's torch-backend rules;
            Keras's "bicubic", "lanczos3", "lanczos5", "area" raise a ValueError here).
        crop_to_aspect_ratio: Crop the centre of the image to the target's aspect ratio
            before resizing, instead of stretching.
        pad_to_aspect_ratio, fill_mode, fill_value, antialias: Keras's arguments; only their
            defaults (False, "constant", 0.0, False) are supported.
        data_format: "channels_last" (default) or "channels_first".
    """

    def __init__(
        self,
        height,
        width,
        interpolation="bilinear",
        crop_to_aspect_ratio=False,
        pad_to_aspect_ratio=False,
        fill_mode="constant",
        fill_value=0.0,
        antialias=False,
        data_format=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.height = _positive_size(height, "height", "Resizing")
        self.width = _positive_size(width, "width", "Resizing")
        if interpolation not in _INTERPOLATIONS:
            raise ValueError(
                "Resizing: `interpolation` must be one of 'bilinear', 'nearest' (eigennet "
                f"does not have Keras's other methods yet). Received: "
                f"interpolation={interpolation!r}"
            )
        if pad_to_aspect_ratio and crop_to_aspect_ratio:
            raise ValueError(
                "Only one of `pad_to_aspect_ratio` & `crop_to_aspect_ratio` can be `True`."
            )
        if pad_to_aspect_ratio or antialias or fill_mode != "constant":
            raise ValueError(
                "Resizing: eigennet supports neither `pad_to_aspect_ratio=True`, "
                "`antialias=True` nor a `fill_mode` other than 'constant' yet. Received: "
                f"pad_to_aspect_ratio={pad_to_aspect_ratio}, antialias={antialias}, "
                f"fill_mode={fill_mode!r}"
            )
        self.interpolation = interpolation
        self.crop_to_aspect_ratio = bool(crop_to_aspect_ratio)
        self.pad_to_aspect_ratio = bool(pad_to_aspect_ratio)
        self.fill_mode = fill_mode
        self.fill_value = fill_value
        self.antialias = bool(antialias)
        self.data_format = standardize_data_format(data_format)

    def call(self, inputs, training=None):
        x, single = self._as_batch(inputs)
        x = resize_images(
            x,
            (self.height, self.width),
            self.interpolation,
            self.data_format == "channels_first",
            self.crop_to_aspect_ratio,
        )
        return x[0] if single else x

    def get_config(self):
        return {
            **super().get_config(),
            "height": self.height,
            "width": self.width,
            "interpolation": self.interpolation,
            "crop_to_aspect_ratio": self.crop_to_aspect_ratio,
            "pad_to_aspect_ratio": self.pad_to_aspect_ratio,
            "fill_mode": self.fill_mode,
            "fill_value": self.fill_value,
            "antialias": self.antialias,
            "data_format": self.data_format,
        }


class CenterCrop(_SizedImageLayer):
    """Crops the centre `(height, width)` of images; an image smaller than that along an axis
    is cropped to the target's aspect ratio and resized (bilinear), as Keras.

    Args:
        height, width: Positive ints, the output size.
        data_format: "channels_last" (default) or "channels_first".
    """

    def __init__(self, height, width, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.height = _positive_size(height, "height", "CenterCrop")
        self.width = _positive_size(width, "width", "CenterCrop")
        self.data_format = standardize_data_format(data_format)

    def call(self, inputs, training=None):
        x, single = self._as_batch(inputs)
        x = center_crop(x, (self.height, self.width), self.data_format == "channels_first")
        return x[0] if single else x

    def get_config(self):
        return {
            **super().get_config(),
            "height": self.height,
            "width": self.width,
            "data_format": self.data_format,
        }


def _factor_pair(factor, bounds: tuple[float, float], layer: str) -> tuple[float, float]:
    """Keras's `factor` rule: a number f gives (max(-|f|, low), |f|); a pair is sorted; out
    of the bounds raises a ValueError naming the layer."""
    message = (
        f"{layer}: The `factor` argument should be a number (or a list of two numbers) in the "
        f"range [{bounds[0]}, {bounds[1]}]. Received: factor={factor}"
    )
    if isinstance(factor, (tuple, list)):
        if len(factor) != 2 or not all(isinstance(f, numbers.Real) for f in factor):
            raise ValueError(message)
        if factor[0] > bounds[1] or factor[1] < bounds[0]:
            raise ValueError(message)
        lower, upper = sorted(factor)
        return lower, upper
    if isinstance(factor, numbers.Real) and not isinstance(factor, bool):
        if factor < bounds[0] or factor > bounds[1]:
            raise ValueError(message)
        factor = abs(factor)
        return max(-factor, bounds[0]), factor
    raise ValueError(message)


def _value_range(value_range) -> list:
    """`value_range` sorted, after Keras's check that it holds two numbers."""
    if not isinstance(value_range, (tuple, list)) or len(value_range) != 2:
        raise ValueError(
            "The `value_range` argument should be a list of two numbers. Received: "
            f"value_range={value_range}"
        )
    return sorted(value_range)


class _RandomImageLayer(_ImageLayer):
    def __init__(self, seed=None, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = check_seed(seed)
        self.data_format = standardize_data_format(data_format)
        self.generator = random.SeedGenerator(seed)

    def _per_image(self, x, minval: float, maxval: float):
        """One uniform draw per image of the batch `x`, shaped (batch, 1, 1, 1)."""
        from eigennet.ops.symbolic import is_symbolic

        batch = None if is_symbolic(x) else x.shape[0]
        draw = random.uniform(
            (batch, 1, 1, 1), 0.0, 1.0, dtype=self._native_dtype, seed=self.generator
        )
        scale, low = (
            np.asarray(maxval - minval, self._native_dtype),
            np.asarray(minval, self._native_dtype),
        )
        return draw * scale + low  # Keras allows maxval == minval (a factor of 0)


class RandomFlip(_RandomImageLayer):
    """Flips images at random in training: each image is flipped with probability 1/2
    (with "horizontal_and_vertical", flipped along both axes or neither, as Keras 3).

    Args:
        mode: "horizontal", "vertical" or "horizontal_and_vertical" (default).
        seed: Optional int seeding the flips.
        data_format: "channels_last" (default) or "channels_first".
    """

    _MODES = ("horizontal", "vertical", "horizontal_and_vertical")

    def __init__(self, mode="horizontal_and_vertical", seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        if mode not in self._MODES:
            raise ValueError(
                f"RandomFlip layer {self.name} received an unknown mode argument {mode!r}; "
                f"expected one of {self._MODES}"
            )
        self.mode = mode

    def call(self, inputs, training=True):
        x, single = self._as_batch(inputs)
        if training:
            flips = self._per_image(x, 0.0, 1.0) <= 0.5
            rows_axis, cols_axis = self._spatial_axes()
            if self.mode in ("horizontal", "horizontal_and_vertical"):
                x = ops.where(flips, _reverse(x, cols_axis), x)
            if self.mode in ("vertical", "horizontal_and_vertical"):
                x = ops.where(flips, _reverse(x, rows_axis), x)
        return x[0] if single else x

    def get_config(self):
        return {
            **super().get_config(),
            "seed": self.seed,
            "mode": self.mode,
            "data_format": self.data_format,
        }


def _reverse(x, axis: int):
    return ops.take(x, np.arange(x.shape[axis] - 1, -1, -1), axis=axis)


class RandomContrast(_RandomImageLayer):
    """Changes the contrast of images at random in training: per image and channel,
    `(x - mean) * c + mean` with one `c` per image drawn from
    `[1 - factor[0], 1 + factor[1]]` (Keras 3's rule: a number f gives the pair (0, f)),
    then clipped to `value_range`.

    Args:
        factor: Number or pair of numbers in [0, 1].
        value_range: The images' range (default (0, 255)); results are clipped to it.
        seed: Optional int seeding the draws.
    """

    _needs_size = False

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.factor = _factor_pair(factor, (0, 1), "RandomContrast")
        self.value_range = value_range

    def call(self, inputs, training=True):
        x, single = self._as_batch(inputs)
        if training:
            c = self._per_image(x, 1.0 - self.factor[0], 1.0 + self.factor[1])
            rows_axis, cols_axis = self._spatial_axes()
            mean = ops.mean(x, axis=(rows_axis, cols_axis), keepdims=True)
            x = ops.clip((x - mean) * c + mean, self.value_range[0], self.value_range[1])
        return x[0] if single else x

    def get_config(self):
        return {
            **super().get_config(),
            "data_format": self.data_format,
            "factor": self.factor,
            "value_range": self.value_range,
            "seed": self.seed,
        }


class RandomBrightness(_RandomImageLayer):
    """Changes the brightness of images at random in training: adds one value per image,
    drawn from `[factor[0], factor[1]] * (value_range[1] - value_range[0])`, then clips to
    `value_range`.

    Args:
        factor: Number f in [-1, 1] (the pair (-|f|, |f|)) or a pair of numbers.
        value_range: The images' range (default (0, 255)), a list or tuple of two numbers.
        seed: Optional int seeding the draws.
    """

    _needs_size = False

    def __init__(self, factor, value_range=(0, 255), seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.factor = _factor_pair(factor, (-1, 1), "RandomBrightness")
        self.value_range = _value_range(value_range)

    def call(self, inputs, training=True):
        x, single = self._as_batch(inputs)
        if training:
            span = self.value_range[1] - self.value_range[0]
            delta = self._per_image(x, self.factor[0] * span, self.factor[1] * span)
            x = ops.clip(x + delta, self.value_range[0], self.value_range[1])
        return x[0] if single else x

    def get_config(self):
        return {
            **super().get_config(),
            "data_format": self.data_format,
            "factor": self.factor,
            "value_range": self.value_range,
            "seed": self.seed,
        }


class _PerImageChoice(_RandomImageLayer):
    """A layer that transforms each image of a batch in training or leaves it, at random."""

    _needs_size = False

    def _chosen(self, x, probability):
        """(batch, 1, 1, 1) booleans: True for the images a draw below `probability` picks
        (a number, or (batch, 1, 1, 1) draws)."""
        return ops.less(self._per_image(x, 0.0, 1.0), probability)


class RandomGrayscale(_PerImageChoice):
    """Turns images to grayscale at random in training, keeping their channels (each gets the
    luma of `ops.image.rgb_to_grayscale`), as Keras's RandomGrayscale.

    Args:
        factor: The probability in [0, 1] that an image is converted (default 0.5).
        data_format: "channels_last" (default) or "channels_first".
        seed: Optional int seeding the draws.
    """

    def __init__(self, factor=0.5, data_format=None, seed=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        if not isinstance(factor, numbers.Real) or not 0 <= factor <= 1:
            raise ValueError(f"`factor` should be between 0 and 1. Received: factor={factor}")
        self.factor = factor

    def call(self, inputs, training=True):
        x, single = self._as_batch(inputs)
        if training:
            gray = ops.image.rgb_to_grayscale(x, data_format=self.data_format)
            x = ops.where(self._chosen(x, float(self.factor)), gray + ops.zeros_like(x), x)
        return x[0] if single else x

    def get_config(self):
        # (Keras's config holds no seed for this layer)
        return {**super().get_config(), "factor": self.factor, "data_format": self.data_format}


class RandomInvert(_PerImageChoice):
    """Inverts images at random in training (`value_range[1] - x`), as Keras's RandomInvert:
    each image draws a probability in `factor` and is inverted when a second draw falls below
    it.

    Args:
        factor: Number f in [0, 1] (the pair (0, f)) or a pair of numbers (default 1.0).
        value_range: The images' range (default (0, 255)).
        seed: Optional int seeding the draws.
        data_format: "channels_last" (default) or "channels_first".
    """

    def __init__(self, factor=1.0, value_range=(0, 255), seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = _factor_pair(factor, (0, 1), "RandomInvert")
        _value_range(value_range)
        self.value_range = tuple(value_range)  # (as given: Keras's config keeps the order)

    def call(self, inputs, training=True):
        x, single = self._as_batch(inputs)
        if training:
            probability = self._per_image(x, self.factor[0], self.factor[1])
            inverted = np.asarray(self.value_range[1], self._native_dtype) - x
            x = ops.where(self._chosen(x, probability), inverted, x)
        return x[0] if single else x

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "value_range": self.value_range,
                "seed": self.seed, "data_format": self.data_format}  # fmt: skip


class RandomColorDegeneration(_RandomImageLayer):
    """Blends images with their grayscale at random in training, as Keras's layer: each image
    draws f from `factor` and becomes `x + f * (gray - x)`, clipped to `value_range` (a
    negative f saturates the colours).

    Args:
        factor: Number f in [-1, 1] (the pair (-|f|, |f|)) or a pair of numbers.
        value_range: The images' range (default (0, 255)).
        data_format: "channels_last" (default) or "channels_first".
        seed: Optional int seeding the draws.
    """

    _needs_size = False

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = _factor_pair(factor, (-1, 1), "RandomColorDegeneration")
        self.value_range = _value_range(value_range)

    def call(self, inputs, training=True):
        x, single = self._as_batch(inputs)
        if training:
            f = self._per_image(x, self.factor[0], self.factor[1])
            gray = ops.image.rgb_to_grayscale(x, data_format=self.data_format)
            x = ops.clip(x + f * (gray - x), self.value_range[0], self.value_range[1])
        return x[0] if single else x

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format, "factor": self.factor,
                "value_range": self.value_range, "seed": self.seed}  # fmt: skip


class AutoContrast(_ImageLayer):
    """Stretches each channel of each image to the whole `value_range` (its minimum to the
    range's low end, its maximum to the high end), in training and inference alike, as
    Keras's AutoContrast; a constant channel is left as it was. Channels last.

    Args:
        value_range: The images' range (default (0, 255)).
    """

    _needs_size = False

    def __init__(self, value_range=(0, 255), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.value_range = _value_range(value_range)
        # (kept for Keras's config: like Keras's, the layer reduces axes 1 and 2)
        self.data_format = standardize_data_format(data_format)

    def call(self, inputs, training=None):
        x, single = self._as_batch(inputs)
        low_end, high_end = (float(v) for v in self.value_range)
        span = high_end - low_end
        with np.errstate(divide="ignore", invalid="ignore"):  # (on arrays: see the NaN rule)
            images = (x - low_end) * (255.0 / span)  # in [0, 255]
            low = ops.min(images, axis=(1, 2), keepdims=True)
            high = ops.max(images, axis=(1, 2), keepdims=True)
            scale = 255.0 / (high - low)
            stretched = ops.clip(images * scale - low * scale, 0.0, 255.0)
            result = stretched * (span / 255.0) + low_end
        result = ops.where(ops.isnan(result), x, result)  # (a constant channel: 0 * inf)
        return result[0] if single else result

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format,
                "value_range": self.value_range}  # fmt: skip
