"""Keras 3 activations: forward values and vector-Jacobian products.

Conventions at kinks follow the Keras torch backend: the "positive" branch is
``x > 0``, so relu'(0) = 0, leaky_relu'(0) = 0.2, elu'(0) = alpha and
selu'(0) = scale * alpha.
"""

import math

import numpy as np

LEAKY_RELU_SLOPE = 0.2
ELU_ALPHA = 1.0
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946

_erf = np.vectorize(math.erf, otypes=[np.float64])


def _float(x):
    x = np.asarray(x)
    return x if np.issubdtype(x.dtype, np.floating) else x.astype(np.float64)


def _c(value, x):
    """A Python constant cast to the dtype of ``x``."""
    return x.dtype.type(value)


def sigmoid(x):
    x = _float(x)
    # Stable in both tails: exp() is only taken of non-positive numbers.
    e = np.exp(-np.abs(x))
    one = _c(1.0, x)
    return np.where(x >= 0, one / (one + e), e / (one + e))


def _sigmoid_grad(x, dy):
    s = sigmoid(x)
    return dy * s * (_c(1.0, s) - s)


def linear(x):
    return _float(x).copy()


def _linear_grad(x, dy):
    return np.array(dy, dtype=_float(x).dtype)


def relu(x):
    x = _float(x)
    return np.where(x > 0, x, _c(0.0, x))


def _relu_grad(x, dy):
    x = _float(x)
    return np.where(x > 0, dy, _c(0.0, x)).astype(x.dtype)


def leaky_relu(x, negative_slope=LEAKY_RELU_SLOPE):
    x = _float(x)
    return np.where(x > 0, x, _c(negative_slope, x) * x)


def _leaky_relu_grad(x, dy):
    x = _float(x)
    return np.where(x > 0, dy, _c(LEAKY_RELU_SLOPE, x) * dy).astype(x.dtype)


def elu(x, alpha=ELU_ALPHA):
    x = _float(x)
    return np.where(x > 0, x, _c(alpha, x) * np.expm1(np.minimum(x, 0)))


def _elu_grad(x, dy):
    x = _float(x)
    neg = _c(ELU_ALPHA, x) * np.exp(np.minimum(x, 0))
    return np.where(x > 0, dy, dy * neg).astype(x.dtype)


def selu(x):
    x = _float(x)
    return _c(SELU_SCALE, x) * elu(x, alpha=SELU_ALPHA)


def _selu_grad(x, dy):
    x = _float(x)
    neg = _c(SELU_ALPHA, x) * np.exp(np.minimum(x, 0))
    return (_c(SELU_SCALE, x) * np.where(x > 0, dy, dy * neg)).astype(x.dtype)


def tanh(x):
    return np.tanh(_float(x))


def _tanh_grad(x, dy):
    t = tanh(x)
    return dy * (_c(1.0, t) - t * t)


def _phi_cdf(x):
    return (0.5 * (1.0 + _erf(x / math.sqrt(2.0)))).astype(x.dtype)


def gelu(x):
    """Exact GELU, x * Phi(x) (Keras ``approximate=False``)."""
    x = _float(x)
    return x * _phi_cdf(x)


def _gelu_grad(x, dy):
    x = _float(x)
    pdf = (np.exp(-0.5 * x.astype(np.float64) ** 2) / math.sqrt(2 * math.pi)).astype(x.dtype)
    return dy * (_phi_cdf(x) + x * pdf)


def softplus(x):
    """log(1 + exp(x)) evaluated stably (torch returns x itself for x > 20)."""
    x = _float(x)
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def _softplus_grad(x, dy):
    return dy * sigmoid(x)


def silu(x):
    x = _float(x)
    return x * sigmoid(x)


def _silu_grad(x, dy):
    x = _float(x)
    s = sigmoid(x)
    return dy * s * (_c(1.0, x) + x * (_c(1.0, x) - s))


def softmax(x):
    """Softmax over the last axis."""
    x = _float(x)
    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


def _softmax_grad(x, dy):
    s = softmax(x)
    return s * (dy - np.sum(dy * s, axis=-1, keepdims=True))


swish = silu

_REGISTRY = {
    "linear": (linear, _linear_grad),
    "relu": (relu, _relu_grad),
    "sigmoid": (sigmoid, _sigmoid_grad),
    "tanh": (tanh, _tanh_grad),
    "softmax": (softmax, _softmax_grad),
    "leaky_relu": (leaky_relu, _leaky_relu_grad),
    "elu": (elu, _elu_grad),
    "selu": (selu, _selu_grad),
    "gelu": (gelu, _gelu_grad),
    "softplus": (softplus, _softplus_grad),
    "swish": (silu, _silu_grad),
    "silu": (silu, _silu_grad),
}

NAMES = tuple(_REGISTRY)


def forward(name, x):
    """Value of activation ``name`` at ``x``."""
    return _REGISTRY[name][0](x)


def backward(name, x, dy):
    """Vector-Jacobian product: dL/dx given dy = dL/dy (softmax row-wise)."""
    x = _float(x)
    return _REGISTRY[name][1](x, np.asarray(dy, dtype=x.dtype))
