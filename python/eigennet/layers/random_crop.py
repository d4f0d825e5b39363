"""RandomCrop: a random (height, width) window of the images in training, one per batch.

Training, as Keras 3: when the images are larger than the target along both axes, one window
position per batch, `floor(uniform(0, size - target + 1))` per axis, drawn natively from the
layer's `SeedGenerator` (a random op of the graph) and cut by the native affine sampler (a
translation to the smaller size, nearest: an exact copy, the gradient going back to the cut
pixels). Otherwise Keras's fixed window (its `else` branch: a start from the aspect-ratio
crop, a window of the target's size) resized to the target (bilinear) if it falls short.

Inference: on arrays (`layer(x, training=False)`) the images come back unchanged, as Keras 3
returns them. In a model the graph needs the layer's output shape, where Keras 3 returns the
uncropped images (and fails in the next layer): eigennet then crops as CenterCrop does (the
centre window; an image smaller than the target cropped to its aspect ratio and resized).
"""

from __future__ import annotations

import numpy as np

from eigennet import ops
from eigennet.layers.image_preprocessing import (
    _crop,
    _positive_size,
    _RandomImageLayer,
    _SizedImageLayer,
    center_crop,
    resize_images,
)
from eigennet.ops import image as image_ops


class RandomCrop(_SizedImageLayer, _RandomImageLayer):
    """Crops images to `(height, width)` at a random position in training (the same position
    for the whole batch, as Keras 3).

    Args:
        height, width: Positive ints, the output size.
        seed: Optional int seeding the positions.
        data_format: "channels_last" (default) or "channels_first".
    """

    def __init__(self, height, width, seed=None, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        self.height = _positive_size(height, "height", "RandomCrop")
        self.width = _positive_size(width, "width", "RandomCrop")

    def call(self, inputs, training=True):
        from eigennet.ops.symbolic import is_symbolic

        x, single = self._as_batch(inputs)
        channels_first = self.data_format == "channels_first"
        if training:
            x = self._random_crop(x, channels_first)
        elif is_symbolic(x):
            x = center_crop(x, (self.height, self.width), channels_first)
        return x[0] if single else x

    def _random_crop(self, x, channels_first: bool):
        from eigennet import random

        axes = self._spatial_axes()
        height, width = x.shape[axes[0]], x.shape[axes[1]]
        if height > self.height and width > self.width:
            room = np.array([height - self.height + 1, width - self.width + 1], np.float32)
            draw = random.uniform((1, 2), 0.0, 1.0, dtype="float32", seed=self.generator)
            start = ops.minimum(ops.floor(draw * room), room - 1)  # (a draw rounded up to 1)
            # The input is read at (row + start_row, col + start_col).
            matrix = np.zeros((2, 8), np.float32)
            matrix[0, 5] = matrix[1, 2] = 1.0
            offset = np.array([1, 0, 0, 0, 1, 0, 0, 0], np.float32)
            transform = ops.matmul(start, matrix) + offset
            return image_ops.sample(
                x, transform, "nearest", "constant", 0.0, channels_first, (self.height, self.width)
            )
        # Keras's fixed window: a start from the aspect-ratio crop, the target's size.
        crop_height = max(min(height, int(float(width * self.height) / self.width)), 1)
        crop_width = max(min(width, int(float(height * self.width) / self.height)), 1)
        top, left = int(float(height - crop_height) / 2), int(float(width - crop_width) / 2)
        x = _crop(x, axes, top, min(self.height, height - top), left, min(self.width, width - left))
        size = (x.shape[axes[0]], x.shape[axes[1]])
        if size != (self.height, self.width):
            x = resize_images(x, (self.height, self.width), "bilinear", channels_first, False)
        return x

    def get_config(self):
        return {
            **super().get_config(),
            "height": self.height,
            "width": self.width,
            "seed": self.seed,
            "data_format": self.data_format,
        }
