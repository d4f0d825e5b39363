"""Keras's helpers for a batch as `x`, `(x,)`, `(x, y)` or `(x, y, sample_weight)` (what a
custom `train_step` receives), and for symbolic tensors."""

from __future__ import annotations

from eigennet.backend import is_keras_tensor


def pack_x_y_sample_weight(x, y=None, sample_weight=None):
    """The batch as Keras passes it: `x` (or `(x,)` when x is a tuple or list), `(x, y)` or
    `(x, y, sample_weight)`."""
    if y is None:
        return (x,) if isinstance(x, (tuple, list)) else x
    if sample_weight is None:
        return (x, y)
    return (x, y, sample_weight)


def unpack_x_y_sample_weight(data):
    """`(x, y, sample_weight)` of a batch, None for what it lacks."""
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return (data, None, None)
    if 1 <= len(data) <= 3:
        return (*data, *(None,) * (3 - len(data)))
    raise ValueError(
        "Data is expected to be in format `x`, `(x,)`, `(x, y)`, or `(x, y, sample_weight)`, "
        f"found: {data}"
    )


def get_source_inputs(tensor) -> list:
    """The `keras.Input` tensors that `tensor` is computed from, in the order first met."""
    from eigennet.layers.input_layer import InputLayer

    if not is_keras_tensor(tensor):
        raise ValueError(f"get_source_inputs needs a symbolic tensor, got {type(tensor).__name__}")
    found, seen, stack = [], set(), [tensor]
    while stack:
        t = stack.pop()
        node = getattr(t, "_node", None)
        if node is None or isinstance(node.layer, InputLayer) or not node.inputs:
            if isinstance(getattr(node, "layer", None), InputLayer) and id(t) not in seen:
                seen.add(id(t))
                found.append(t)
            continue
        stack.extend(reversed([i for i in node.inputs if is_keras_tensor(i)]))
    return found
