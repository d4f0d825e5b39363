"""Reshaping layers: Flatten and Reshape (native; channels_last, the values keep their order),
RepeatVector and Permute (written with keras.ops, traced into the graph)."""

from __future__ import annotations

import math

from eigennet import _core, ops
from eigennet.layers._ops_layer import OpsLayer
from eigennet.layers.layer import Layer


class Reshape(Layer):
    """Reshapes inputs to `target_shape` (the sample shape, without the batch axis).

    Args:
        target_shape: Tuple of positive ints; one entry may be -1, inferred from the input.

    Input shape: any. Output shape: `(batch_size, *target_shape)`.
    """

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        try:
            target_shape = tuple(int(d) for d in target_shape)
        except (TypeError, ValueError):
            raise TypeError(f"target_shape must be a tuple of ints, got {target_shape!r}") from None
        if any(d == 0 or d < -1 for d in target_shape) or target_shape.count(-1) > 1:
            raise ValueError(
                f"target_shape must hold positive ints and at most one -1, got {target_shape}"
            )
        self.target_shape = target_shape

    def build(self, input_shape) -> None:
        if not self.built and None not in tuple(input_shape)[1:]:  # (else checked per length)
            size = math.prod(tuple(input_shape)[1:])
            known = math.prod(d for d in self.target_shape if d != -1)
            fits = size % known == 0 if -1 in self.target_shape else size == known
            if not fits:
                raise ValueError(
                    f"Layer {self.name!r} cannot reshape inputs of shape {tuple(input_shape)} "
                    f"({size} values per sample) to {self.target_shape}"
                )
        super().build(input_shape)

    def _make_core(self, dtype):
        return getattr(_core, f"Reshape_{dtype}")(list(self.target_shape))

    def get_config(self):
        return {**super().get_config(), "target_shape": self.target_shape}


class Flatten(Reshape):
    """Flattens each sample to one axis: `(batch, d1, d2, ...)` -> `(batch, d1 * d2 * ...)`.

    Args:
        data_format: "channels_last" (or None); channels_first is not supported.
    """

    def __init__(self, data_format=None, **kwargs):
        if data_format not in (None, "channels_last"):
            raise ValueError(
                f"Flatten supports data_format='channels_last' only, got {data_format!r}"
            )
        super().__init__((-1,), **kwargs)
        self.data_format = "channels_last"

    def get_config(self):
        config = super().get_config()
        del config["target_shape"]
        return {**config, "data_format": self.data_format}


class RepeatVector(OpsLayer):
    """Repeats the input `n` times: `(batch, features)` -> `(batch, n, features)`.

    Args:
        n: Positive int, the repetition factor.
    """

    _input_ndim = 2

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        if isinstance(n, bool) or not isinstance(n, int):
            raise TypeError(f"Expected an integer value for `n`, got {type(n)}.")
        if n <= 0:
            raise ValueError(f"Argument `n` should be a positive integer. Received: n={n}")
        self.n = n

    def call(self, inputs, training=None):
        self._check_rank(inputs)
        return ops.repeat(ops.expand_dims(inputs, 1), self.n, axis=1)

    def get_config(self):
        return {**super().get_config(), "n": self.n}


class Permute(OpsLayer):
    """Permutes the axes of each sample: `dims` (a permutation of 1..rank-1, the batch axis
    0 excluded) orders the input's axes, e.g. `Permute((2, 1))` swaps the two axes of
    `(batch, steps, features)` samples.

    Args:
        dims: Tuple of ints, a permutation of `1, ..., len(dims)`.
    """

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        self.dims = tuple(dims)
        if sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise ValueError(
                "Invalid permutation argument `dims` for Permute Layer. The set of indices in "
                f"`dims` must be consecutive and start from 1. Received dims={dims}"
            )
        self._input_ndim = len(self.dims) + 1

    def call(self, inputs, training=None):
        self._check_rank(inputs)
        return ops.transpose(inputs, (0, *self.dims))

    def get_config(self):
        return {**super().get_config(), "dims": self.dims}
