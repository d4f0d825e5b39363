"""Keras's image file utilities: `load_img`, `img_to_array`, `array_to_img`, `save_img` and
`smart_resize`.

Images are decoded and encoded by Pillow (`pip install pillow`, or the `images` extra), as
Keras does; Pillow is imported only when a function needs it. A file Pillow cannot read, or a
truncated one, raises a ValueError naming it; Pillow's decompression-bomb limit bounds the
pixels a crafted file can claim. `save_img` writes atomically.
"""

from __future__ import annotations

import io
import os
import pathlib

import numpy as np

from eigennet import ops

PIL_MISSING = 'Pillow is not installed: pip install "eigennet[images]" (or pip install pillow)'
COLOR_MODES = {"grayscale": 1, "rgb": 3, "rgba": 4}


def pil_image(purpose: str):
    """The PIL.Image module, or an ImportError saying how to install Pillow."""
    try:
        from PIL import Image
    except ImportError:
        raise ImportError(f"{purpose} needs Pillow. {PIL_MISSING}") from None
    return Image


def _resample(image_module, interpolation: str):
    methods = {
        "nearest": image_module.Resampling.NEAREST,
        "bilinear": image_module.Resampling.BILINEAR,
        "bicubic": image_module.Resampling.BICUBIC,
        "hamming": image_module.Resampling.HAMMING,
        "box": image_module.Resampling.BOX,
        "lanczos": image_module.Resampling.LANCZOS,
    }
    if interpolation not in methods:
        raise ValueError(
            f"Invalid interpolation method {interpolation} specified. Supported methods are "
            f"{', '.join(methods)}"
        )
    return methods[interpolation]


def _check_color_mode(color_mode: str) -> int:
    if color_mode not in COLOR_MODES:
        raise ValueError('color_mode must be "grayscale", "rgb", or "rgba"')
    return COLOR_MODES[color_mode]


def open_image(path, color_mode: str = "rgb"):
    """The decoded image of `path` (a path or a file object) in `color_mode`, as a PIL
    image; a file that is not a readable image raises a ValueError naming it."""
    image_module = pil_image("Loading an image")
    _check_color_mode(color_mode)
    if isinstance(path, (str, bytes, pathlib.Path, os.PathLike)):
        name = os.fsdecode(path)
        with open(name, "rb") as f:
            data = io.BytesIO(f.read())
    elif hasattr(path, "read"):
        name, data = getattr(path, "name", "the image"), path
    else:
        raise TypeError(f"path should be path-like or io.BytesIO, not {type(path)}")
    try:
        img = image_module.open(data)
        img.load()
    except (OSError, SyntaxError, ValueError, image_module.DecompressionBombError) as e:
        raise ValueError(f"{name}: not a readable image ({e})") from None
    wanted = {"grayscale": ("L", "I;16", "I"), "rgb": ("RGB",), "rgba": ("RGBA",)}[color_mode]
    if img.mode not in wanted:
        img = img.convert(wanted[0])
    return img


def load_img(
    path, color_mode="rgb", target_size=None, interpolation="nearest", keep_aspect_ratio=False
):
    """Loads an image file as a PIL image, as Keras's `utils.load_img`: converted to
    `color_mode` ("grayscale", "rgb", "rgba"), resized by Pillow to `target_size` (height,
    width) with `interpolation` (after cropping the centre to its aspect ratio with
    `keep_aspect_ratio`)."""
    img = open_image(path, color_mode)
    if target_size is None:
        return img
    image_module = pil_image("Loading an image")
    resample = _resample(image_module, interpolation)
    height, width = int(target_size[0]), int(target_size[1])
    if img.size == (width, height):
        return img
    if keep_aspect_ratio:
        w, h = img.size
        crop_width = min(w, int(h * width / height))
        crop_height = min(h, int(w * height / width))
        left, top = (w - crop_width) // 2, (h - crop_height) // 2
        img = img.crop((left, top, left + crop_width, top + crop_height))
    return img.resize((width, height), resample)


def _channels_first(data_format) -> bool:
    from eigennet.layers._ops_layer import standardize_data_format

    return standardize_data_format(data_format) == "channels_first"


def img_to_array(img, data_format=None, dtype=None) -> np.ndarray:
    """A PIL image as a (height, width, channels) array (float32 by default; a grayscale
    image gets its channel axis), as Keras's `utils.img_to_array`."""
    x = np.asarray(img, dtype=dtype or "float32")
    if x.ndim == 2:
        x = x[..., None]
    elif x.ndim != 3:
        raise ValueError(f"Unsupported image shape: {x.shape}")
    return x.transpose(2, 0, 1) if _channels_first(data_format) else x


def array_to_img(x, data_format=None, scale=True, dtype=None):
    """An array of rank 3 (one channel: grayscale, three: RGB, four: RGBA) as a PIL image, as
    Keras's `utils.array_to_img`: with `scale`, values are shifted and scaled to 0-255."""
    image_module = pil_image("Converting an array to an image")
    x = np.asarray(x, dtype=dtype or "float32")
    if x.ndim != 3:
        raise ValueError(
            f"Expected image array to have rank 3 (single image). Got array with shape: {x.shape}"
        )
    if _channels_first(data_format):
        x = x.transpose(1, 2, 0)
    if scale:
        x = x - np.min(x)
        peak = np.max(x)
        if peak != 0:
            x = x / peak
        x = x * 255
    channels = x.shape[2]
    if channels not in (1, 3, 4):
        raise ValueError(f"Unsupported channel number: {channels}")
    if channels == 1 and np.max(x) > 255:
        return image_module.fromarray(x[:, :, 0].astype("int32"), "I")  # 32-bit integers
    modes = {1: "L", 3: "RGB", 4: "RGBA"}
    data = np.clip(x, 0, 255).astype("uint8")
    return image_module.fromarray(data[:, :, 0] if channels == 1 else data, modes[channels])


def save_img(path, x, data_format=None, file_format=None, scale=True, **kwargs) -> None:
    """Saves an array as an image file (the format from `file_format` or the extension),
    atomically; as Keras's `utils.save_img`."""
    from eigennet.saving.file_io import atomic_write

    img = array_to_img(x, data_format=data_format, scale=scale)
    path = os.fspath(path)
    if file_format is None:
        extension = os.path.splitext(path)[1].lower()
        file_format = pil_image("Saving an image").registered_extensions().get(extension)
        if file_format is None:
            raise ValueError(f"save_img: cannot tell an image format from {path!r}")
    if img.mode == "RGBA" and str(file_format).lower() in ("jpg", "jpeg"):
        img = img.convert("RGB")  # (JPEG has no alpha channel)
    with atomic_write(path) as f:
        img.save(f, format=file_format, **kwargs)


def smart_resize(
    x, size, interpolation="bilinear", data_format="channels_last", backend_module=None
):
    """Resizes images (rank 3 or 4) to `size` without distorting them, as Keras's
    `utils.smart_resize`: the centred box of the target's aspect ratio, resized."""
    return ops.image.resize(
        x, size, interpolation=interpolation, crop_to_aspect_ratio=True, data_format=data_format
    )
