"""`keras.ops`: the first operations, on NumPy arrays and on symbolic tensors.

On arrays an op computes at once and returns an array. On symbolic tensors (`keras.Input` and
layer outputs) it records a node of the functional graph, so that a model built with
`x + y` or `ops.relu(x)` trains natively like one built from layers: element-wise sums,
differences, products, maxima and minima of tensors (with NumPy broadcasting of size-1 axes),
concatenation and the activation functions. The operators `+`, `-` and `*` between symbolic
tensors are these ops. An operation with a constant operand (`x * 2.0`) or an op that is not
here raises an error that says so: the rest of Keras's `ops` comes with traced custom layers.
"""

from __future__ import annotations

import numpy as np

from eigennet import activations as _activations
from eigennet.layers.keras_tensor import KerasTensor, is_symbolic


def _merge(layer_name: str, numpy_fn, op: str, x1, x2):
    if is_symbolic([x1, x2]):
        for operand in (x1, x2):
            if not isinstance(operand, KerasTensor):
                raise TypeError(
                    f"ops.{op}: one operand is a symbolic tensor and the other "
                    f"{type(operand).__name__}; eigennet records ops between symbolic tensors "
                    "only for now (a constant operand needs custom-layer tracing)"
                )
        from eigennet import layers

        return getattr(layers, layer_name)()([x1, x2])
    return numpy_fn(np.asarray(x1), np.asarray(x2))


def add(x1, x2):
    """`x1 + x2`, element-wise, with broadcasting."""
    return _merge("Add", np.add, "add", x1, x2)


def subtract(x1, x2):
    """`x1 - x2`, element-wise, with broadcasting."""
    return _merge("Subtract", np.subtract, "subtract", x1, x2)


def multiply(x1, x2):
    """`x1 * x2`, element-wise, with broadcasting."""
    return _merge("Multiply", np.multiply, "multiply", x1, x2)


def maximum(x1, x2):
    """The element-wise maximum, with broadcasting."""
    return _merge("Maximum", np.maximum, "maximum", x1, x2)


def minimum(x1, x2):
    """The element-wise minimum, with broadcasting."""
    return _merge("Minimum", np.minimum, "minimum", x1, x2)


def concatenate(xs, axis: int = 0):
    """The tensors of `xs` joined along `axis` (0 by default, as Keras)."""
    if is_symbolic(xs):
        from eigennet import layers

        return layers.Concatenate(axis=axis)(list(xs))
    return np.concatenate([np.asarray(x) for x in xs], axis=axis)


# The activations take arrays and symbolic tensors alike (see activations._apply).
relu = _activations.relu
sigmoid = _activations.sigmoid
tanh = _activations.tanh
elu = _activations.elu
selu = _activations.selu
gelu = _activations.gelu
softplus = _activations.softplus
silu = swish = _activations.swish


def softmax(x, axis: int = -1):
    """The softmax over `axis`."""
    if is_symbolic(x):
        from eigennet import layers

        return layers.Softmax(axis=axis)(x)
    x = np.asarray(x)
    if axis in (-1, x.ndim - 1):
        return _activations.softmax(x)
    return np.moveaxis(_activations.softmax(np.moveaxis(x, axis, -1)), -1, axis)


_PUBLIC = sorted(
    name for name, value in list(globals().items()) if callable(value) and not name.startswith("_")
)
_PUBLIC = [name for name in _PUBLIC if name not in ("KerasTensor", "is_symbolic")]
__all__ = list(_PUBLIC)


def __getattr__(name: str):
    raise AttributeError(f"eigennet.ops has no {name!r} yet; it has: {', '.join(_PUBLIC)}")
