"""Activation functions (Keras 3 definitions).

Each function takes an array and returns `act(x)` with the same shape; softmax normalises
over the last axis. Constants are Keras's: leaky_relu negative_slope 0.2, elu alpha 1.0,
selu's alpha and scale, gelu in its exact erf form.

The core computes the first twelve natively, inside the layers that take an `activation`.
Keras's others (relu6, softsign, exponential, hard_sigmoid, hard_silu/hard_swish, mish,
log_softmax, log_sigmoid, celu, glu, hard_tanh, hard_shrink, soft_shrink, tanh_shrink,
squareplus, sparse_plus, sparse_sigmoid, threshold, sparsemax) and any function of a
tensor (a custom activation, written with `keras.ops`) are traced into the graph like a
custom layer's call(): `layers.Activation` takes them all, and so do Dense, the convolutions
and EinsumDense, which then compute linearly and run the activation after (see
layers.activation.ActivationAfter). Recurrent layers take the native ones only (theirs run
inside the recurrence).
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


def _ops():
    from eigennet import ops

    return ops


def relu6(x):
    """ReLU capped at 6: `min(max(x, 0), 6)`."""
    return _ops().relu6(x)


def softsign(x):
    """Softsign: `x / (abs(x) + 1)`."""
    return _ops().softsign(x)


def exponential(x):
    """Exponential: `exp(x)`."""
    return _ops().exp(x)


def hard_sigmoid(x):
    """Hard sigmoid, Keras 3's: `relu6(x + 3) / 6`."""
    return _ops().hard_sigmoid(x)


def hard_silu(x):
    """Hard SiLU (hard swish): `x * hard_sigmoid(x)`."""
    return _ops().hard_silu(x)


hard_swish = hard_silu


def mish(x):
    """Mish: `x * tanh(softplus(x))`."""
    ops = _ops()
    return x * ops.tanh(ops.softplus(x))


def log_softmax(x):
    """Log-softmax over the last axis."""
    return _ops().log_softmax(x)


def log_sigmoid(x):
    """Log-sigmoid: `-softplus(-x)`."""
    return _ops().log_sigmoid(x)


def celu(x, alpha=1.0):
    """Continuously differentiable ELU: `max(x, 0) + alpha * expm1(min(x, 0) / alpha)`."""
    return _ops().celu(x, alpha=alpha)


def glu(x, axis=-1):
    """Gated linear unit: `a * sigmoid(b)`, `a` and `b` the halves of `x` along `axis` (it
    halves that axis: `layers.Activation` takes it, a layer's `activation=` does not)."""
    return _ops().glu(x, axis=axis)


def hard_tanh(x):
    """`x` clipped to [-1, 1]."""
    return _ops().hard_tanh(x)


def hard_shrink(x, threshold=0.5):
    """`x` where `|x| > threshold`, else 0."""
    return _ops().hard_shrink(x, threshold=threshold)


def soft_shrink(x, threshold=0.5):
    """`x` moved `threshold` toward 0, and 0 within [-threshold, threshold]."""
    return _ops().soft_shrink(x, threshold=threshold)


def tanh_shrink(x):
    """`x - tanh(x)`."""
    return _ops().tanh_shrink(x)


def squareplus(x, b=4):
    """`(x + sqrt(x ** 2 + b)) / 2`."""
    return _ops().squareplus(x, b=b)


def sparse_plus(x):
    """0 for `x <= -1`, `(x + 1) ** 2 / 4` in between, `x` for `x >= 1`."""
    return _ops().sparse_plus(x)


def sparse_sigmoid(x):
    """0 for `x <= -1`, `(x + 1) / 2` in between, 1 for `x >= 1`."""
    return _ops().sparse_sigmoid(x)


def threshold(x, threshold, default_value):  # noqa: A002 (Keras's name)
    """`x` where `x > threshold`, else `default_value`."""
    return _ops().threshold(x, threshold, default_value)


def sparsemax(x, axis=-1):
    """Sparsemax: the projection onto the probability simplex along `axis` (Martins and
    Astudillo's threshold; Keras 3.15 computes another, fixed upstream in keras#23469)."""
    return _ops().sparsemax(x, axis=axis)


# Keras's activations the core does not run natively: traced where they are used.
_TRACED_BY_NAME: dict[str, Callable] = {
    "sparsemax": sparsemax,
    "celu": celu,
    "glu": glu,
    "hard_tanh": hard_tanh,
    "hard_shrink": hard_shrink,
    "soft_shrink": soft_shrink,
    "tanh_shrink": tanh_shrink,
    "squareplus": squareplus,
    "sparse_plus": sparse_plus,
    "sparse_sigmoid": sparse_sigmoid,
    "threshold": threshold,
    "relu6": relu6,
    "softsign": softsign,
    "exponential": exponential,
    "hard_sigmoid": hard_sigmoid,
    "hard_silu": hard_silu,
    "hard_swish": hard_silu,
    "mish": mish,
    "log_softmax": log_softmax,
    "log_sigmoid": log_sigmoid,
}

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


def serialize(activation):
    """A built-in activation's name, or Keras's dict naming a custom function (its registered
    name when it is registered with `keras.saving.register_keras_serializable`): loading
    finds it registered or in custom_objects, never from stored code."""
    activation = get(activation)
    name = _builtin_name(activation)
    if name is not None:
        return name
    from eigennet.saving import object_registration

    registered = object_registration.get_registered_name(activation)
    return {
        "module": "builtins",
        "class_name": "function",
        "config": registered or getattr(activation, "__name__", repr(activation)),
        "registered_name": "function",
    }


def deserialize(config, custom_objects=None) -> Callable:
    """The activation a name or serialize()'s dict describes."""
    if isinstance(config, dict):
        from eigennet.saving import serialization_lib

        return serialization_lib.deserialize_keras_object(config, "activations", custom_objects)
    return get(config)


def get(identifier) -> Callable:
    """The activation function for None (linear), a name, a function (Keras's or one of your
    own, used as it is) or serialize()'s dict."""
    if identifier is None:
        return linear
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        fn = _BY_NAME.get(identifier) or _TRACED_BY_NAME.get(identifier)
        if fn is None:
            known = sorted({*_BY_NAME, *_TRACED_BY_NAME})
            raise ValueError(f"Unknown activation {identifier!r}. Valid activations: {known}")
        return fn
    if callable(identifier):
        return identifier
    raise TypeError(f"An activation must be a name or a function, got {identifier!r}")


def native_name_or_none(identifier) -> str | None:
    """The core's name of a native activation, else None."""
    if identifier is None:
        return "linear"
    if isinstance(identifier, str):
        return ("swish" if identifier == "silu" else identifier) if identifier in _BY_NAME else None
    for name, fn in _BY_NAME.items():
        if identifier is fn:
            return "swish" if name == "silu" else name
    return None


def _builtin_name(fn) -> str | None:
    """The name Keras 3 saves one of this module's activations under (swish as "silu",
    hard_swish as "hard_silu"), else None."""
    for name, known in (*_BY_NAME.items(), *_TRACED_BY_NAME.items()):
        if fn is known:
            return "silu" if name == "swish" else name
    return None


def native_name(identifier) -> str:
    """The core's name of an activation given as None, a name or a function of this module,
    for the layers that can only run it natively (the recurrent ones)."""
    name = native_name_or_none(identifier)
    if name is not None:
        return name
    if isinstance(identifier, str) and identifier not in _TRACED_BY_NAME:
        raise ValueError(
            f"Unknown activation {identifier!r}. Valid activations: "
            f"{', '.join(sorted({*_BY_NAME, *_TRACED_BY_NAME}))}"
        )
    shown = identifier if isinstance(identifier, str) else getattr(identifier, "__name__", "")
    raise ValueError(
        f"Activation {shown or identifier!r} is not one the core runs inside a recurrent "
        f"layer ({', '.join(sorted(_BY_NAME))}): for another, write a cell of your own and "
        "run it with layers.RNN (its call() is traced, any activation included)"
    )
