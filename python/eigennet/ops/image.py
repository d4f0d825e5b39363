"""`keras.ops.image`: image operations.

`affine_transform` resamples each image of a batch at the points a projective transform of its
output pixels gives. On symbolic tensors it is one native op (cpp/src/ops/affine_transform.cpp)
that reads the images in place, threaded over the batch, with the gradient of the bilinear (or
nearest) sampling going back to the images; on arrays it computes with NumPy. The sampling
rules are Keras's torch backend's (`map_coordinates` of order 0 or 1 and its index fixers).
"""

from __future__ import annotations

import numpy as np

from eigennet.ops import symbolic  # (the module: it imports the layers, which import this)

INTERPOLATIONS = ("nearest", "bilinear")
FILL_MODES = ("constant", "nearest", "wrap", "mirror", "reflect")


def affine_transform(
    images,
    transform,
    interpolation="bilinear",
    fill_mode="constant",
    fill_value=0,
    data_format=None,
):
    """Applies the transform(s) to the image(s), as Keras's `ops.image.affine_transform`.

    Args:
        images: A batch of images (rank 4), or one image (rank 3, arrays only).
        transform: `[a0, a1, a2, b0, b1, b2, c0, c1]` (shape (8,)) or one row per image
            (shape (batch, 8)). Output pixel (x, y) (column, row) reads the input at
            `((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k)`, `k = c0 x + c1 y + 1`. The
            transform gets no gradient.
        interpolation: "bilinear" (default) or "nearest".
        fill_mode: How points outside the image read it: "constant" (default; `fill_value`),
            "nearest", "wrap", "reflect" (d c b a | a b c d | d c b a) or "mirror".
        fill_value: The value outside the image with "constant".
        data_format: "channels_last" (default) or "channels_first".

    eigennet's difference: `c0` and `c1` divide as documented (Keras's torch backend
    applies them to the channel index instead; with c0 = c1 = 0 the two agree).
    """
    from eigennet.layers._ops_layer import standardize_data_format

    channels_first = standardize_data_format(data_format) == "channels_first"
    return sample(images, transform, interpolation, fill_mode, fill_value, channels_first)


def sample(
    images, transform, interpolation, fill_mode, fill_value, channels_first, output_size=None
):
    """`affine_transform`, with an optional output size (rows, cols): a crop is a translation
    to a smaller size."""
    if interpolation not in INTERPOLATIONS:
        raise ValueError(
            "Invalid value for argument `interpolation`. Expected of one "
            f"{set(INTERPOLATIONS)}. Received: interpolation={interpolation}"
        )
    if fill_mode not in FILL_MODES:
        raise ValueError(
            "Invalid value for argument `fill_mode`. Expected of one "
            f"{set(FILL_MODES)}. Received: fill_mode={fill_mode}"
        )
    shape = tuple(getattr(images, "shape", np.shape(images)))
    is_graph = symbolic.is_symbolic(images, transform)
    if len(shape) not in ((4,) if is_graph else (3, 4)):
        raise ValueError(
            "Invalid images rank: expected rank 3 (single image, arrays only) or rank 4 (batch "
            f"of images). Received input with shape: images.shape={shape}"
        )
    t_shape = tuple(getattr(transform, "shape", np.shape(transform)))
    if len(t_shape) not in (1, 2) or t_shape[-1] != 8:
        raise ValueError(
            "Invalid transform: expected shape (8,) (single transform) or (batch, 8) (batch of "
            f"transforms). Received input with shape: transform.shape={t_shape}"
        )
    size = [] if output_size is None else [int(s) for s in output_size]
    if is_graph:
        return symbolic.record(
            "affine_transform",
            "AffineTransformOp",
            [images, transform],
            interpolation,
            fill_mode,
            float(fill_value),
            bool(channels_first),
            size,
        )
    x = np.asarray(images)
    single = x.ndim == 3
    if single:
        x = x[None]
    if channels_first:
        x = x.transpose(0, 2, 3, 1)
    t = np.asarray(transform, dtype=np.float64).reshape(-1, 8)
    if len(t) not in (1, len(x)):
        raise ValueError(
            f"affine_transform: {len(t)} transforms for a batch of {len(x)} images (give one, "
            "or one per image)"
        )
    out = _sample_arrays(x, t, interpolation, fill_mode, float(fill_value), size or x.shape[1:3])
    if channels_first:
        out = out.transpose(0, 3, 1, 2)
    return out[0] if single else out


def _fix_index(index: np.ndarray, size: int, fill_mode: str) -> np.ndarray:
    """Keras's index fixers: the index read for an index outside `[0, size)`."""
    if fill_mode == "wrap":
        return index % size
    if fill_mode == "mirror":
        s = size - 1
        return np.abs((index + s) % (2 * s) - s) if s > 0 else np.zeros_like(index)
    if fill_mode == "reflect":
        s = 2 * size
        return (np.abs((2 * index + 1 + s) % (2 * s) - s) - 1) // 2
    return np.clip(index, 0, size - 1)


def _nodes(coordinate: np.ndarray, size: int, interpolation: str, fill_mode: str) -> list:
    """(fixed index, weight, inside the image) of each interpolation node of one axis."""
    coordinate = np.clip(coordinate, -1e15, 1e15)
    if interpolation == "nearest":
        nodes = [(np.round(coordinate), 1.0)]  # half to even, as torch.round
    else:
        low = np.floor(coordinate)
        nodes = [(low, 1.0 - (coordinate - low)), (low + 1, coordinate - low)]
    out = []
    for index, weight in nodes:
        index = index.astype(np.int64)
        out.append((_fix_index(index, size, fill_mode), weight, (index >= 0) & (index < size)))
    return out


def _sample_arrays(x, t, interpolation, fill_mode, fill_value, size) -> np.ndarray:
    """The sampling on arrays: x (batch, h, w, c), t (1 or batch, 8) -> (batch, rows, cols, c)."""
    batch, height, width, _ = x.shape
    rows, cols = size
    y, xc = np.meshgrid(np.arange(rows, dtype=np.float64), np.arange(cols, dtype=np.float64),
                        indexing="ij")  # fmt: skip
    a0, a1, a2, b0, b1, b2, c0, c1 = (t[:, k, None, None] for k in range(8))
    with np.errstate(divide="ignore", invalid="ignore"):
        k = c0 * xc + c1 * y + 1.0
        src_col = (a0 * xc + a1 * y + a2) / k
        src_row = (b0 * xc + b1 * y + b2) / k
    lost = (k == 0) | ~np.isfinite(src_col) | ~np.isfinite(src_row)  # read fill_value
    src_col, src_row = np.where(lost, 0.0, src_col), np.where(lost, 0.0, src_row)
    src_col = np.broadcast_to(src_col, (batch, rows, cols))
    src_row = np.broadcast_to(src_row, (batch, rows, cols))
    lost = np.broadcast_to(lost, (batch, rows, cols))
    dtype = x.dtype if x.dtype.kind == "f" else np.dtype("float32")
    b = np.arange(batch)[:, None, None]
    out = np.zeros((batch, rows, cols, x.shape[3]), dtype=np.float64)
    fill = np.zeros((batch, rows, cols), dtype=np.float64)
    for r, wr, in_r in _nodes(src_row, height, interpolation, fill_mode):
        for c, wc, in_c in _nodes(src_col, width, interpolation, fill_mode):
            weight = np.where(lost, 0.0, np.broadcast_to(wr * wc, lost.shape))
            if fill_mode == "constant":
                fill += np.where(in_r & in_c, 0.0, weight)
                weight = np.where(in_r & in_c, weight, 0.0)
            out += weight[..., None] * x[b, r, c]
    out += ((fill + lost) * fill_value)[..., None]
    if x.dtype.kind != "f":  # integer images come back rounded, as Keras
        return np.round(out).astype(x.dtype)
    return out.astype(dtype)


def extract_patches(images, size, strides=None, dilation_rate=1, padding="valid", data_format=None):
    """Patches of 2-D images, as Keras's `ops.image.extract_patches`: from (batch, height,
    width, channels) images (or one image without the batch axis), (batch, rows, columns,
    patch_height * patch_width * channels), each patch's values in (row, column, channel)
    order; non-overlapping unless `strides` (default `size`) says otherwise.

    Computed as Keras computes it, a convolution with an identity kernel: on symbolic tensors
    the native convolution op with its gradient, exact (every output is one input value times
    1 plus zeros). 3-D patches (a `size` of 3) are not supported.
    """
    from eigennet.ops import nn
    from eigennet.ops import numpy as np_ops

    if not isinstance(size, int):
        if not isinstance(size, (tuple, list)):
            raise TypeError(
                "Invalid `size` argument. Expected an int or a tuple. "
                f"Received: size={size} of type {type(size).__name__}"
            )
        if len(size) not in (2, 3):
            raise ValueError(
                "Invalid `size` argument. Expected a tuple of length 2 or 3. "
                f"Received: size={size} with length {len(size)}"
            )
        if len(size) == 3:
            raise NotImplementedError("ops.image.extract_patches: 3-D patches are not supported")
    patch_h, patch_w = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
    shape = tuple(getattr(images, "shape", np.shape(images)))
    if len(shape) not in (3, 4):
        raise ValueError(
            f"ops.image.extract_patches: images must be of rank 3 or 4, got shape {shape}"
        )
    channels = shape[-1]
    if channels is None:
        raise ValueError("ops.image.extract_patches: the images' channel axis must be known")
    dtype = str(getattr(images, "dtype", "float32"))
    dtype = dtype if dtype in ("float32", "float64") else "float32"
    width = patch_h * patch_w * channels
    kernel = np.eye(width, dtype=dtype).reshape(patch_h, patch_w, channels, width)
    batched = images if len(shape) == 4 else np_ops.expand_dims(images, 0)
    patches = nn.conv(batched, kernel, strides or size, padding, data_format, dilation_rate)
    return patches if len(shape) == 4 else np_ops.squeeze(patches, 0)


def resize(
    images,
    size,
    interpolation="bilinear",
    antialias=False,
    crop_to_aspect_ratio=False,
    pad_to_aspect_ratio=False,
    fill_mode="constant",
    fill_value=0.0,
    data_format=None,
):
    """Resizes a batch of images (rank 4) or one image (rank 3) to `size` (height, width), as
    Keras's `ops.image.resize` on its torch backend: "bilinear" with half-pixel centres,
    "nearest" as "nearest-exact"; `crop_to_aspect_ratio` first takes the centred box of the
    target's aspect ratio, `pad_to_aspect_ratio` pads the image with `fill_value` to it.
    Both are fixed linear maps along rows and columns, so on symbolic tensors they train.
    Integer images come back rounded, in their dtype. "bicubic", the Lanczos kernels and
    `antialias=True` are not supported (a ValueError says so)."""
    from eigennet.layers._ops_layer import standardize_data_format
    from eigennet.layers.image_preprocessing import resize_images

    if interpolation not in INTERPOLATIONS:
        raise ValueError(
            f"ops.image.resize supports interpolation {INTERPOLATIONS} in eigennet. "
            f"Received: interpolation={interpolation}"
        )
    if antialias:
        raise ValueError("ops.image.resize: antialias=True is not supported by eigennet")
    if fill_mode != "constant":
        raise ValueError(
            "Invalid value for argument `fill_mode`. Only `'constant'` is supported. "
            f"Received: fill_mode={fill_mode}"
        )
    if pad_to_aspect_ratio and crop_to_aspect_ratio:
        raise ValueError(
            "Only one of `pad_to_aspect_ratio` & `crop_to_aspect_ratio` can be `True`."
        )
    if not isinstance(size, (tuple, list)) or len(size) != 2:
        raise ValueError(
            f"Argument `size` must be a tuple of two elements (height, width). Received: "
            f"size={size}"
        )
    size = tuple(int(s) for s in size)
    if min(size) < 1:
        raise ValueError(f"Argument `size` must hold positive sizes. Received: size={size}")
    channels_first = standardize_data_format(data_format) == "channels_first"
    is_symbolic = symbolic.is_symbolic(images)
    x = images if is_symbolic else np.asarray(images)
    rank = len(x.shape)
    if rank not in ((4,) if is_symbolic else (3, 4)):
        raise ValueError(
            "Invalid images rank: expected rank 3 (single image, arrays only) or rank 4 "
            f"(batch of images). Received input with shape: images.shape={tuple(x.shape)}"
        )
    axes = (2, 3) if channels_first else (1, 2)
    spatial = tuple(x.shape[a - (4 - rank)] for a in axes)
    if None in spatial:
        raise ValueError("ops.image.resize needs images of a known height and width")
    if is_symbolic:
        if pad_to_aspect_ratio:
            x = _pad_to_aspect(x, spatial, size, axes, fill_value)
        return resize_images(x, size, interpolation, channels_first, crop_to_aspect_ratio)
    original = x.dtype
    batch = (x if rank == 4 else x[None]).astype(
        np.float64 if original == np.float64 else np.float32
    )
    if pad_to_aspect_ratio:
        batch = _pad_to_aspect(batch, spatial, size, axes, fill_value)
    out = np.asarray(
        resize_images(batch, size, interpolation, channels_first, crop_to_aspect_ratio)
    )
    out = out if rank == 4 else out[0]
    if original.kind in "iub":
        info = np.iinfo(original) if original.kind != "b" else None
        out = np.round(out) if info is None else np.clip(np.round(out), info.min, info.max)
        return out.astype(original)
    return out.astype(original if original.kind == "f" else np.float32)


def _pad_to_aspect(x, spatial, size, axes, fill_value):
    """The image padded (centred, `fill_value` on both sides) to the target's aspect ratio,
    as Keras's torch backend pads it."""
    from eigennet.ops import numpy as np_ops

    height, width = spatial
    pad_height = max(height, int(float(width * size[0]) / size[1]))
    pad_width = max(width, int(float(height * size[1]) / size[0]))
    top, left = int(float(pad_height - height) / 2), int(float(pad_width - width) / 2)
    if top == 0 and left == 0:
        return x
    widths = [(0, 0)] * 4
    widths[axes[0]], widths[axes[1]] = (top, top), (left, left)
    return np_ops.pad(x, widths, constant_values=fill_value)


GRAYSCALE_WEIGHTS = (0.2989, 0.5870, 0.1140)  # tf.image.rgb_to_grayscale's, as Keras's


def rgb_to_grayscale(images, data_format=None):
    """The luma of RGB images (one channel; a one-channel image is returned as it is), as
    Keras's `ops.image.rgb_to_grayscale`: batches (rank 4) or, on arrays, one image."""
    from eigennet.layers._ops_layer import standardize_data_format
    from eigennet.ops import numpy as np_ops

    channels_first = standardize_data_format(data_format) == "channels_first"
    shape = tuple(getattr(images, "shape", np.shape(images)))
    if len(shape) not in (3, 4):
        raise ValueError(
            "Invalid images rank: expected rank 3 (single image) or rank 4 (batch of images). "
            f"Received input with shape: images.shape={shape}"
        )
    axis = len(shape) - 3 if channels_first else len(shape) - 1
    if shape[axis] not in (1, 3):
        raise ValueError(
            "Invalid channel size: expected 3 (RGB) or 1 (Grayscale). Received input with "
            f"shape: images.shape={shape}"
        )
    if shape[axis] == 1:
        return images if symbolic.is_symbolic(images) else np.array(images)
    if not symbolic.is_symbolic(images):
        x = np.asarray(images)
        compute = np.float64 if x.dtype == np.float64 else np.float32
        weights = np.asarray(GRAYSCALE_WEIGHTS, compute)
        gray = np.tensordot(x.astype(compute), weights, axes=([axis], [0]))
        return np.expand_dims(gray, axis).astype(x.dtype)
    weights = np.asarray(GRAYSCALE_WEIGHTS, np.float32)
    shaped = weights.reshape((3, 1, 1) if channels_first else (3,))
    return np_ops.sum(images * shaped, axis=axis, keepdims=True)


def _color_planes(images, data_format, what: str):
    """(the three planes of float images along their channel axis, that axis)."""
    from eigennet.layers._ops_layer import standardize_data_format
    from eigennet.ops import numpy as np_ops

    shape = tuple(getattr(images, "shape", np.shape(images)))
    if len(shape) not in (3, 4):
        raise ValueError(
            "Invalid images rank: expected rank 3 (single image) or rank 4 (batch of images). "
            f"Received input with shape: images.shape={shape}"
        )
    dtype = str(images.dtype if hasattr(images, "dtype") else np.asarray(images).dtype)
    if "float" not in dtype:
        raise ValueError(
            f"Invalid images dtype: expected float dtype. Received: images.dtype={dtype}"
        )
    axis = len(shape) - (3 if standardize_data_format(data_format) == "channels_first" else 1)
    if shape[axis] != 3:
        raise ValueError(f"{what} takes 3-channel images. Received: images.shape={shape}")
    planes = np_ops.split(images, 3, axis=axis)
    return [np_ops.squeeze(p, axis=axis) for p in planes], axis


def rgb_to_hsv(images, data_format=None):
    """RGB images to HSV, as Keras's `ops.image.rgb_to_hsv`: hue in [0, 1), saturation
    (max - min) / max, value the channels' maximum; float images only."""
    from eigennet.ops import numpy as np_ops

    (r, g, b), axis = _color_planes(images, data_format, "rgb_to_hsv")
    eps = float(np.finfo(np.float32).eps)  # (Keras zeroes values below the dtype's eps)
    r, g, b = (np_ops.where(np_ops.abs(c) < eps, 0.0, c) for c in (r, g, b))
    value = np_ops.maximum(np_ops.maximum(r, g), b)
    span = value - np_ops.minimum(np_ops.minimum(r, g), b)
    saturation = np_ops.where(value > 0, span / np_ops.where(value > 0, value, 1.0), 0.0)
    norm = 1.0 / (6.0 * np_ops.where(span > 0, span, 1.0))
    # (ops.equal: == on symbolic tensors compares the tensors, not their values)
    hue = np_ops.where(
        np_ops.equal(value, g), norm * (b - r) + 2.0 / 6.0, norm * (r - g) + 4.0 / 6.0
    )
    hue = np_ops.where(np_ops.equal(value, r), norm * (g - b), hue)
    hue = np_ops.where(span > 0, hue, 0.0)
    hue = hue + np_ops.where(hue < 0.0, 1.0, 0.0)
    return np_ops.stack([hue, saturation, value], axis=axis)


def hsv_to_rgb(images, data_format=None):
    """HSV images back to RGB, as Keras's `ops.image.hsv_to_rgb` (hue taken modulo 1)."""
    from eigennet.ops import numpy as np_ops

    (hue, saturation, value), axis = _color_planes(images, data_format, "hsv_to_rgb")
    sector = np_ops.mod(hue, 1.0) * 6.0
    red = np_ops.clip(np_ops.abs(sector - 3.0) - 1.0, 0.0, 1.0)
    green = np_ops.clip(2.0 - np_ops.abs(sector - 2.0), 0.0, 1.0)
    blue = np_ops.clip(2.0 - np_ops.abs(sector - 4.0), 0.0, 1.0)
    gray = 1.0 - saturation
    planes = [value * (gray + saturation * c) for c in (red, green, blue)]
    return np_ops.stack(planes, axis=axis)
