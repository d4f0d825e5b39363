"""The base of eigennet's built-in layers written with `keras.ops`, and their argument checks.

Such a layer has no native class of its own: its `call()` is traced into the model's graph
like a user's custom layer (see tracing.py), so it trains natively, and on NumPy arrays the
same `call()` computes at once. It still saves under `keras.layers` with Keras's config.
"""

from __future__ import annotations

import numbers

import numpy as np

from eigennet.layers.layer import Layer


class OpsLayer(Layer):
    """A built-in layer whose `call()` is written with `keras.ops`. Every `call()` takes
    `training` (ignored where it makes no difference), as Keras accepts it for every layer."""

    # The input rank Keras's InputSpec asks for (None: any).
    _input_ndim: int | None = None

    def _check_rank(self, inputs) -> tuple:
        """The inputs' shape, after Keras's InputSpec check of their rank."""
        shape = tuple(getattr(inputs, "shape", np.shape(inputs)))
        if self._input_ndim is not None and len(shape) != self._input_ndim:
            raise ValueError(
                f'Input 0 of layer "{self.name}" is incompatible with the layer: expected '
                f"ndim={self._input_ndim}, found ndim={len(shape)}. Full shape received: "
                f"{shape}"
            )
        return shape

    def get_config(self) -> dict:
        config = {"name": self.name, "trainable": self.trainable, "dtype": self._dtype_config()}
        if self.activity_regularizer is not None:  # Keras lists it only when set
            from eigennet import regularizers

            config["activity_regularizer"] = regularizers.serialize(self.activity_regularizer)
        return config


def serialized(module, obj):
    """`module.serialize(obj)` for a config entry, None for an argument left unset."""
    return None if obj is None else module.serialize(obj)


def standardize_data_format(data_format) -> str:
    """Keras's rule: None is `image_data_format()`, else channels_first or channels_last
    (any case); ValueError otherwise."""
    if data_format is None:
        from eigennet.backend import image_data_format

        return image_data_format()
    value = str(data_format).lower()
    if value not in ("channels_first", "channels_last"):
        raise ValueError(
            "The `data_format` argument must be one of {'channels_first', 'channels_last'}. "
            f"Received: data_format={data_format}"
        )
    return value


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def standardize_tuple(value, n: int, name: str, allow_zero: bool = False) -> tuple[int, ...]:
    """An int or n ints as a tuple of n ints, each positive (>= 0 with `allow_zero`);
    ValueError (Keras's type) otherwise."""
    message = f"The `{name}` argument must be a tuple of {n} integers. Received {name}={value}"
    if _is_int(value):
        values = (value,) * n
    else:
        try:
            values = tuple(value)
        except TypeError:
            raise ValueError(message) from None
        if len(values) != n or not all(_is_int(v) for v in values):
            raise ValueError(message)
    low = 0 if allow_zero else 1
    bad = sorted({int(v) for v in values if v < low})
    if bad:
        raise ValueError(
            f"{message}, including values {bad} that do not satisfy "
            f"`value {'>= 0' if allow_zero else '> 0'}`"
        )
    return tuple(int(v) for v in values)


_ORDINALS = ("1st", "2nd", "3rd")


def pairs(value, name: str, what: str, n: int = 2) -> tuple[tuple[int, int], ...]:
    """ZeroPadding2D/3D's `padding` / Cropping2D/3D's `cropping` over n = 2 or 3 spatial axes:
    an int, n ints (symmetric per axis) or n pairs of ints, each >= 0, as ((before, after),
    ...) per axis (((top, bottom), (left, right)) for images)."""
    if _is_int(value):
        if value < 0:
            raise ValueError(f"`{name}` cannot be negative. Received: {name}={value}.")
        return ((int(value),) * 2,) * n
    if not hasattr(value, "__len__") or isinstance(value, str):
        forms = (
            f"a tuple of 2 ints (symmetric_height_{what}, symmetric_width_{what}), or a tuple "
            f"of 2 tuples of 2 ints ((top_{what}, bottom_{what}), (left_{what}, right_{what}))"
            if n == 2
            else f"a tuple of 3 ints (symmetric_dim1_{what}, symmetric_dim2_{what}, "
            f"symmetric_dim3_{what}), or a tuple of 3 tuples of 2 ints ((left_dim1_{what}, "
            f"right_dim1_{what}), (left_dim2_{what}, right_dim2_{what}), (left_dim3_{what}, "
            f"right_dim3_{what}))"
        )
        raise ValueError(f"`{name}` should be either an int, {forms}. Received: {name}={value}.")
    if len(value) != n:
        count = "two" if n == 2 else str(n)
        raise ValueError(f"`{name}` should have {count} elements. Received: {name}={value}.")
    return tuple(
        standardize_tuple(v, 2, f"{_ORDINALS[i]} entry of {name}", allow_zero=True)
        for i, v in enumerate(value)
    )


def unit_interval(value, name: str) -> float:
    """A number in [0, 1] (Keras's rate and stddev rule): TypeError for a non-number,
    ValueError outside the interval."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"Invalid value received for argument `{name}`: {value!r} is not a number")
    if not 0 <= value <= 1:
        raise ValueError(
            f"Invalid value received for argument `{name}`. Expected a float value between 0 "
            f"and 1. Received: {name}={value}"
        )
    return value


def check_seed(seed):
    """None or a non-negative int (a layer's `seed`)."""
    if seed is not None and (not _is_int(seed) or seed < 0):
        raise ValueError(f"seed must be a non-negative integer or None, got {seed!r}")
    return seed
