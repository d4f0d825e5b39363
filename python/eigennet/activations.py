"""Activation functions (Keras 3 definitions), computed by the native core.

Each function takes an array and returns `act(x)` with the same shape; softmax normalises
over the last axis. Constants are Keras's: leaky_relu negative_slope 0.2, elu alpha 1.0,
selu's alpha and scale, gelu in its exact erf form.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from eigennet import _core, config


def _apply(name: str, x) -> np.ndarray:
    from eigennet.layers.keras_tensor import is_symbolic

    if is_symbolic(x):  # in a functional model: one Activation layer call
        from eigennet.layers import Activation

        return Activation(name)(x)
    x = np.asarray(x)
    dtype = np.float64 if x.dtype == np.float64 else np.dtype(config.floatx())
    return _core.activation_forward(name, np.ascontiguousarray(x, dtype=dtype))


def linear(x):
    """Linear (identity) activation: `x`."""
    return _apply("linear", x)


def relu(x):
    """Rectified linear unit: `max(x, 0)`."""
    return _apply("relu", x)


def sigmoid(x):
    """Sigmoid: `1 / (1 + exp(-x))`."""
    return _apply("sigmoid", x)


def tanh(x):
    """Hyperbolic tangent."""
    return _apply("tanh", x)


def softmax(x):
    """Softmax over the last axis."""
    return _apply("softmax", x)


def leaky_relu(x):
    """Leaky ReLU: `x` if `x > 0` else `0.2 * x` (Keras's default negative_slope)."""
    return _apply("leaky_relu", x)


def elu(x):
    """Exponential linear unit with alpha 1: `x` if `x > 0` else `exp(x) - 1`."""
    return _apply("elu", x)


def selu(x):
    """Scaled ELU: `scale * elu(x, alpha)` with Keras's alpha 1.67326 and scale 1.05070."""
    return _apply("selu", x)


def gelu(x):
    """Gaussian error linear unit, exact form: `0.5 * x * (1 + erf(x / sqrt(2)))`."""
    return _apply("gelu", x)


def softplus(x):
    """Softplus: `log(1 + exp(x))`, computed stably."""
    return _apply("softplus", x)


def swish(x):
    """Swish (SiLU): `x * sigmoid(x)`."""
    return _apply("swish", x)


silu = swish

_BY_NAME: dict[str, Callable] = {
    "linear": linear,
    "relu": relu,
    "sigmoid": sigmoid,
    "tanh": tanh,
    "softmax": softmax,
    "leaky_relu": leaky_relu,
    "elu": elu,
    "selu": selu,
    "gelu": gelu,
    "softplus": softplus,
    "swish": swish,
    "silu": swish,
}


def serialize(activation) -> str:
    """The name of a built-in activation."""
    return native_name(activation)


def deserialize(name: str) -> Callable:
    return get(name)


def get(identifier) -> Callable:
    """Returns the activation function for a name, a function of this module or None."""
    return _BY_NAME[native_name(identifier)]


def native_name(identifier) -> str:
    """The core's name of an activation given as None, a name or a function of this module."""
    if identifier is None:
        return "linear"
    if isinstance(identifier, str):
        if identifier in _BY_NAME:
            return "swish" if identifier == "silu" else identifier
        raise ValueError(
            f"Unknown activation {identifier!r}. Valid activations: {', '.join(sorted(_BY_NAME))}"
        )
    for name, fn in _BY_NAME.items():
        if identifier is fn:
            return "swish" if name == "silu" else name
    raise ValueError(
        f"Activation {identifier!r} is not supported: eigennet runs activations natively, so "
        f"use one of {', '.join(sorted(_BY_NAME))} (by name or as eigennet.activations.<name>)"
    )
