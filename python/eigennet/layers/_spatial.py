"""Argument checks and the input-rank check shared by the convolution and pooling layers."""

from __future__ import annotations

import numpy as np

from eigennet.layers.layer import Layer


def standardize_tuple(value, n: int, name: str, owner: str) -> tuple[int, ...]:
    """An int or n ints (Keras's kernel_size/strides/... argument) as a tuple of n positive
    ints; ValueError naming the owner layer class otherwise."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = (value,) * n
    try:
        values = tuple(value)
    except TypeError:
        values = None

    def positive(v):
        return not isinstance(v, bool) and isinstance(v, (int, np.integer)) and v > 0

    if values is None or len(values) != n or not all(positive(v) for v in values):
        raise ValueError(
            f"{owner} argument `{name}` must be a positive integer or a tuple of {n} positive "
            f"integers, got {name}={value!r}"
        )
    return tuple(int(v) for v in values)


def standardize_padding(padding, owner: str, allowed: tuple[str, ...]) -> str:
    if isinstance(padding, str) and padding.lower() in allowed:
        return padding.lower()
    raise ValueError(
        f"{owner} argument `padding` must be one of {', '.join(repr(a) for a in allowed)}, "
        f"got padding={padding!r}"
    )


def check_data_format(data_format, owner: str) -> str:
    if data_format not in (None, "channels_last"):
        raise ValueError(
            f"{owner} supports only data_format='channels_last' (inputs (batch, ..., channels)), "
            f"got data_format={data_format!r}; transpose channels_first data with "
            "np.moveaxis(x, 1, -1)"
        )
    return "channels_last"


_SPATIAL_AXES = {1: "steps", 2: "rows, cols", 3: "depth, rows, cols"}


def spatial_axes(rank: int) -> str:
    return f"(batch, {_SPATIAL_AXES[rank]}, channels)"


class SpatialLayer(Layer):
    """Shared build of the convolution and pooling layers: checks the input rank and names the
    layer in the core's shape errors."""

    rank = 2

    def build(self, input_shape) -> None:
        if self.built:
            return
        shape = tuple(input_shape)
        if len(shape) != self.rank + 2:
            first = getattr(self, "data_format", None) == "channels_first"
            hint = "; add a channel axis, e.g. x[..., None]" if len(shape) == self.rank + 1 else ""
            expected = spatial_axes(self.rank)
            if first:
                expected, hint = f"(batch, channels, {_SPATIAL_AXES[self.rank]})", ""
            raise ValueError(
                f"Layer {self.name!r} ({type(self).__name__}) expects inputs of shape "
                f"{expected}, got {shape}{hint}"
            )
        try:
            super().build(shape)
        except ValueError as e:
            raise ValueError(f"Layer {self.name!r} on inputs {shape}: {e}") from None


def input_channels(layer, shape, ndim: int, layout: str) -> int:
    """The channel count (last axis) of inputs of `shape`, after Keras's check of their rank
    (`ndim`, the axes named by `layout`); an undefined channel axis raises a ValueError."""
    shape = tuple(shape)
    if len(shape) != ndim:
        raise ValueError(
            f'Input 0 of layer "{layer.name}" is incompatible with the layer: expected '
            f"ndim={ndim} {layout}, found ndim={len(shape)}. Full shape received: {shape}"
        )
    if shape[-1] is None:
        raise ValueError(
            f"{type(layer).__name__}: the channel axis of the inputs must be defined, got {shape}"
        )
    return int(shape[-1])


def window_config(layer) -> dict:
    """The config entries of a windowed layer's window (Keras's names and order)."""
    return {
        "kernel_size": layer.kernel_size,
        "strides": layer.strides,
        "padding": layer.padding,
        "data_format": layer.data_format,
        "dilation_rate": layer.dilation_rate,
    }
