"""Keras's encoding of integer indices as one-hot, multi-hot or count vectors, shared by
CategoryEncoding, Discretization, Hashing and the lookup layers.

Written with `keras.ops`, so it runs natively in a model's graph and directly on arrays.
Keras's rules (`utils.numerical_utils.encode_categorical_inputs` on the torch backend): a
scalar is one sample; "one_hot" drops a last axis of length 1 (rank > 1) and appends the
depth; "multi_hot" and "count" reduce axis 1 of a rank-2 (batched) input, or axis 0 of a
rank-1 one, to vectors of length `depth`.
"""

from __future__ import annotations

import numpy as np

from eigennet import ops
from eigennet.layers.keras_tensor import is_symbolic

OUTPUT_MODES = ("one_hot", "multi_hot", "count")


def check_output_mode(layer: str, output_mode, allowed: tuple) -> str:
    """Keras's `output_mode` check (with its aliases "binary" and "tf-idf")."""
    if output_mode == "binary":
        output_mode = "multi_hot"
    if output_mode == "tf-idf":
        output_mode = "tf_idf"
    if output_mode not in allowed:
        raise ValueError(
            f"{layer}: invalid value for argument `output_mode`. Expected one of {allowed}. "
            f"Received: output_mode={output_mode!r}"
        )
    return output_mode


def check_positive_int(layer: str, name: str, value, minimum: int = 1, allow_none=False):
    """An int >= minimum (None when allowed); ValueError naming the layer and argument."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(
            f"{layer}: `{name}` must be an integer >= {minimum}"
            f"{' or None' if allow_none else ''}. Received: {name}={value!r}"
        )
    return int(value)


def output_shape(input_shape: tuple, output_mode: str, depth: int) -> tuple:
    """The encoded shape for `input_shape` (batch axis included), as the encoding gives it."""
    shape = tuple(input_shape)
    if len(shape) == 0:
        return (depth,)
    if output_mode == "one_hot":
        if len(shape) > 1 and shape[-1] == 1:
            shape = shape[:-1]
        return (*shape, depth)
    reduced = 1 if len(shape) > 1 else 0
    return (*shape[:reduced], *shape[reduced + 1 :], depth)


def encode(indices, output_mode: str, depth: int, dtype="float32", count_weights=None):
    """`indices` (integer-valued, in [0, depth); others encode as zeros) encoded per
    `output_mode`. Symbolic inputs are batched: their rank includes the batch axis."""
    symbolic = is_symbolic(indices)
    if not symbolic:
        indices = np.asarray(indices)
        if indices.ndim == 0:
            indices = indices.reshape(1)
            if count_weights is not None:
                count_weights = np.asarray(count_weights).reshape(1)
    rank = len(indices.shape)
    if output_mode == "one_hot":
        if rank > 1 and indices.shape[-1] == 1:
            indices = ops.squeeze(indices, axis=-1)
        return ops.one_hot(indices, depth, dtype=dtype)
    encoded = ops.one_hot(indices, depth, dtype=dtype)
    axis = 1 if rank > 1 else 0
    if output_mode == "multi_hot":
        return ops.max(encoded, axis=axis)
    if count_weights is not None:
        encoded = encoded * ops.expand_dims(ops.cast(count_weights, dtype), -1)
    return ops.sum(encoded, axis=axis)
