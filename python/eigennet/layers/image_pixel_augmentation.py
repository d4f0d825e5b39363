"""Random augmentation of pixel values, as Keras 3's layers: Solarization, RandomPosterization,
RandomSharpness, RandomSaturation, RandomHue and RandomColorJitter.

Each draws its parameters per image at every training batch (from its SeedGenerator: random
ops of the graph) and transforms the images with ops, so that inside a model they run
natively; in inference they are the identity. The formulas, the factor rules and their quirks
are Keras's (e.g. RandomSaturation's number factor f draws from (-f, f), and a negative draw
makes the image gray).
"""

from __future__ import annotations

import numbers

import numpy as np

from eigennet import ops
from eigennet.config import epsilon
from eigennet.layers.image_preprocessing import (
    RandomBrightness,
    RandomContrast,
    _factor_pair,
    _RandomImageLayer,
    _value_range,
)
from eigennet.ops import image as image_ops


def _to_range(x, source, target):
    """Keras's _transform_value_range: x's values mapped linearly from `source` to `target`."""
    if tuple(source) == tuple(target):
        return x
    return (x - float(source[0])) / float(source[1] - source[0]) * float(
        target[1] - target[0]
    ) + float(target[0])


class _PixelLayer(_RandomImageLayer):
    _needs_size = False

    def call(self, inputs, training=True):
        x, single = self._as_batch(inputs)
        if training:
            x = self._augment(x)
        return x[0] if single else x

    def _augment(self, x):
        raise NotImplementedError

    def _channels_last(self, x):
        return ops.transpose(x, (0, 2, 3, 1)) if self.data_format == "channels_first" else x

    def _channels_back(self, x):
        return ops.transpose(x, (0, 3, 1, 2)) if self.data_format == "channels_first" else x

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format, "seed": self.seed}


class _FactorLayer(_PixelLayer):
    """A layer of Keras's (factor, value_range, data_format, seed) signature: `factor` by
    Keras's rule within `_bounds`, `value_range` sorted."""

    _bounds: tuple[float, float] = (0, 1)

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = _factor_pair(factor, self._bounds, type(self).__name__)
        self.value_range = _value_range(value_range)

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "value_range": self.value_range}


class Solarization(_PixelLayer):
    """Solarizes images at random in training: in the (0, 255) scale each image draws an
    addition and a threshold, adds the addition (clipped to [0, 255]) and inverts the pixels
    at or above the threshold (`255 - x`), as Keras's Solarization.

    Args:
        addition_factor: A number f in [0, 1] (the pair (0, f)) or a pair; the addition is
            drawn from [low, high * 255), as Keras draws it. Default 0.
        threshold_factor: The same for the threshold (default 0: every pixel is inverted).
        value_range: The images' range (default (0, 255)).
        seed: Optional int seeding the draws.
    """

    _error = (
        "The `addition_factor` and `threshold_factor` arguments should be a number (or a "
        "list of two numbers) in the range [0, 1]. "
    )

    def __init__(
        self, addition_factor=0.0, threshold_factor=0.0, value_range=(0, 255), seed=None, **kwargs
    ):
        super().__init__(seed=seed, **kwargs)
        self.addition_factor = self._unit_pair(addition_factor, "addition_factor")
        self.threshold_factor = self._unit_pair(threshold_factor, "threshold_factor")
        self.value_range = _value_range(value_range)

    def _unit_pair(self, factor, name):
        def check(value):
            if not isinstance(value, numbers.Real) or not 0 <= value <= 1:
                raise ValueError(self._error + f"Received: {name}={factor}")

        if isinstance(factor, (tuple, list)):
            if len(factor) != 2:
                raise ValueError(self._error + f"Received: {name}={factor}")
            check(factor[0])
            check(factor[1])
            lower, upper = sorted(factor)
            return lower, upper
        check(factor)
        return 0, factor

    def _augment(self, x):
        additions = self._per_image(x, self.addition_factor[0], self.addition_factor[1] * 255)
        thresholds = self._per_image(x, self.threshold_factor[0], self.threshold_factor[1] * 255)
        images = ops.clip(_to_range(x, self.value_range, (0, 255)) + additions, 0.0, 255.0)
        images = ops.where(ops.less(images, thresholds), images, 255.0 - images)
        return _to_range(images, (0, 255), self.value_range)

    def get_config(self):
        return {
            **super().get_config(),
            "value_range": self.value_range,
            "addition_factor": self.addition_factor,
            "threshold_factor": self.threshold_factor,
        }


class RandomPosterization(_FactorLayer):
    """Keeps a random number of bits of each colour value in training (the (0, 255) scale
    truncated to whole numbers, then its lowest 8 - bits bits cleared), as Keras's
    RandomPosterization. Values outside `value_range` are clipped to it first.

    Args:
        factor: The bits to keep: a number n in [1, 8] draws from [1, n), a pair (a, b) from
            [a, b) (a == b: always a), as Keras's integer draw.
        value_range: The images' range (default (0, 255)).
        data_format: "channels_last" (default) or "channels_first".
        seed: Optional int seeding the draws.
    """

    _bounds = (1, 8)

    def _augment(self, x):
        low, high = self.factor
        bits = ops.floor(self._per_image(x, low, high)) if low != high else float(low)
        step = ops.exp2(8.0 - bits)  # the value of the lowest kept bit
        images = ops.floor(ops.clip(_to_range(x, self.value_range, (0, 255)), 0.0, 255.0))
        images = ops.floor(images / step) * step
        return _to_range(images, (0, 255), self.value_range)


class RandomSharpness(_FactorLayer):
    """Sharpens or blurs images at random in training, as Keras's RandomSharpness: each image
    draws f and becomes `x + (1 - 2f) * (smooth - x)`, where `smooth` is x filtered by Keras's
    3x3 kernel (1/13 around 5/13, zero padding), clipped to `value_range`: f = 0 blurs,
    0.5 leaves the image, 1 sharpens.

    Args:
        factor: A number f in [0, 1] (the pair (0, f)) or a pair.
        value_range: The images' range (default (0, 255)).
        data_format: "channels_last" (default) or "channels_first".
        seed: Optional int seeding the draws.
    """

    _bounds = (0, 1)

    def _augment(self, x):
        sharpness = self._per_image(x, self.factor[0], self.factor[1]) * 2.0
        images = self._channels_last(x)
        channels = images.shape[-1]
        kernel = np.full((3, 3, channels, 1), 1.0 / 13.0, np.float32)
        kernel[1, 1] = 5.0 / 13.0
        smooth = ops.depthwise_conv(images, kernel, strides=1, padding="same")
        images = images + (1.0 - self._channels_last(sharpness)) * (smooth - images)
        images = ops.clip(images, float(self.value_range[0]), float(self.value_range[1]))
        return self._channels_back(images)


class _HsvLayer(_PixelLayer):
    """Layers that change one HSV plane of RGB images."""

    def _hsv(self, images):
        """(hue, saturation, value) planes of channels-last images, each (batch, h, w, 1)."""
        hsv = image_ops.rgb_to_hsv(images)
        return hsv[..., 0:1], hsv[..., 1:2], hsv[..., 2:3]

    def _rgb(self, hue, saturation, value):
        return image_ops.hsv_to_rgb(ops.concatenate([hue, saturation, value], axis=-1))


class RandomSaturation(_FactorLayer, _HsvLayer):
    """Changes the saturation of RGB images at random in training, as Keras's
    RandomSaturation: each image draws f and its saturation is multiplied by f / (1 - f),
    clipped to `value_range` (f = 0.5 leaves it, 0 makes it gray, 1 fully saturated).

    Args:
        factor: A number f in [0, 1] (the pair (-f, f), as Keras) or a pair.
        value_range: The images' range (default (0, 255)).
        data_format: "channels_last" (default) or "channels_first".
        seed: Optional int seeding the draws.
    """

    _bounds = (-1, 1)

    def _augment(self, x):
        f = self._per_image(x, self.factor[0], self.factor[1])
        f = f / (1.0 - f + epsilon())
        hue, saturation, value = self._hsv(self._channels_last(x))
        low, high = (float(v) for v in self.value_range)
        saturation = ops.clip(saturation * f, low, high)
        return self._channels_back(self._rgb(hue, saturation, value))


class RandomHue(_HsvLayer):
    """Rotates the hue of RGB images at random in training, as Keras's RandomHue: each image
    draws f and a sign, and its hue turns by sign * f / 2 of a full turn (f = 0: no change).

    Args:
        factor: A number f in [0, 1] (the pair (0, f)) or a pair.
        value_range: The images' range (default (0, 255)).
        data_format: "channels_last" (default) or "channels_first".
        seed: Optional int seeding the draws.
    """

    def __init__(self, factor, value_range=(0, 255), data_format=None, seed=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.factor = _factor_pair(factor, (0, 1), "RandomHue")
        _value_range(value_range)
        self.value_range = tuple(value_range)  # (as given: Keras's config keeps it)

    def _augment(self, x):
        low, high = sorted(float(v) for v in self.value_range)
        sign = ops.where(self._per_image(x, 0.0, 1.0) > 0.5, -1.0, 1.0)
        turn = sign * self._per_image(x, self.factor[0], self.factor[1]) * 0.5
        images = _to_range(self._channels_last(x), (low, high), (0, 1))
        hue, saturation, value = self._hsv(images)
        hue = hue + turn
        hue = ops.where(hue > 1.0, hue - 1.0, hue)
        hue = ops.where(hue < 0.0, hue + 1.0, hue)
        images = ops.clip(self._rgb(hue, saturation, value), 0.0, 1.0)
        return self._channels_back(_to_range(images, (0, 1), (low, high)))

    def get_config(self):
        return {**super().get_config(), "factor": self.factor, "value_range": self.value_range}


class RandomColorJitter(_PixelLayer):
    """RandomBrightness, RandomContrast, RandomSaturation and RandomHue in that order, each
    for the factor given (None: skipped), with one `value_range` and seed, as Keras's
    RandomColorJitter.

    Args:
        value_range: The images' range (default (0, 255)).
        brightness_factor, contrast_factor, saturation_factor, hue_factor: Each layer's
            `factor`, or None (default) to leave that property alone.
        seed: Optional int seeding the draws.
        data_format: "channels_last" (default) or "channels_first" (the brightness and
            contrast layers take channels last only).
    """

    def __init__(
        self,
        value_range=(0, 255),
        brightness_factor=None,
        contrast_factor=None,
        saturation_factor=None,
        hue_factor=None,
        seed=None,
        data_format=None,
        **kwargs,
    ):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        _value_range(value_range)
        self.value_range = value_range
        self.brightness_factor = brightness_factor
        self.contrast_factor = contrast_factor
        self.saturation_factor = saturation_factor
        self.hue_factor = hue_factor
        chain = [
            (RandomBrightness, brightness_factor, {}),
            (RandomContrast, contrast_factor, {}),
            (RandomSaturation, saturation_factor, {"data_format": data_format}),
            (RandomHue, hue_factor, {"data_format": data_format}),
        ]
        self._jitters = [
            cls(factor=factor, value_range=value_range, seed=seed, **extra)
            for cls, factor, extra in chain
            if factor is not None
        ]

    def _augment(self, x):
        for layer in self._jitters:
            x = layer(x, training=True)
        return x

    def get_config(self):
        return {
            **super().get_config(),
            "value_range": self.value_range,
            "brightness_factor": self.brightness_factor,
            "contrast_factor": self.contrast_factor,
            "saturation_factor": self.saturation_factor,
            "hue_factor": self.hue_factor,
        }
