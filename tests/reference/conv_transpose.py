"""NumPy reference of Keras 3's transposed convolution (channels last, 1-D and 2-D), written
from its definition: every input pixel scatters `x[i] @ kernel[t].T` to output position
`i * stride + t * dilation` of the full result, which Keras then crops (or pads with zeros)
by its padding rule (the JAX rule, keras/src/backend/common/backend_utils.py)."""

from __future__ import annotations

import itertools

import numpy as np


def axis_crop(n, kernel, stride, dilation, padding, output_padding):
    """(crop before, output length) along one axis."""
    span = (kernel - 1) * dilation + 1
    if padding == "valid":
        op = max(span, stride) - span if output_padding is None else output_padding
        left, right = span - 1, span - 1 + op
    else:
        pad = stride + span - 2 if output_padding is None else span + span % 2 - 2 + output_padding
        left = min(pad // 2 + pad % 2, span - 1)
        right = pad - left
    crop0, crop1 = span - 1 - left, span - 1 - right
    return crop0, (n - 1) * stride + span - crop0 - crop1


def _geometry(x, kernel, strides, padding, output_padding, dilation):
    rank = x.ndim - 2
    ops = output_padding if output_padding is not None else (None,) * rank
    return [
        axis_crop(x.shape[1 + a], kernel.shape[a], strides[a], dilation[a], padding, ops[a])
        for a in range(rank)
    ]


def _positions(x, kernel, strides, dilation, geometry):
    """Yields (input index, tap index, output index) for every tap landing in the output."""
    rank = x.ndim - 2
    for i in itertools.product(*(range(x.shape[1 + a]) for a in range(rank))):
        for t in itertools.product(*(range(kernel.shape[a]) for a in range(rank))):
            o = tuple(i[a] * strides[a] + t[a] * dilation[a] - geometry[a][0] for a in range(rank))
            if all(0 <= o[a] < geometry[a][1] for a in range(rank)):
                yield i, t, o


def forward(x, kernel, bias, strides, padding, output_padding=None, dilation=None):
    """x (batch, spatial..., in), kernel (k..., filters, in) -> (batch, out..., filters)."""
    rank = x.ndim - 2
    dilation = dilation or (1,) * rank
    geometry = _geometry(x, kernel, strides, padding, output_padding, dilation)
    y = np.zeros((x.shape[0], *(g[1] for g in geometry), kernel.shape[-2]))
    for i, t, o in _positions(x, kernel, strides, dilation, geometry):
        y[(slice(None), *o)] += x[(slice(None), *i)] @ kernel[t].T
    if bias is not None:
        y = y + bias
    return y


def backward(x, kernel, dy, strides, padding, output_padding=None, dilation=None):
    """(dkernel, dbias, dx) of L = sum(dy * y) for the linear transposed convolution."""
    rank = x.ndim - 2
    dilation = dilation or (1,) * rank
    geometry = _geometry(x, kernel, strides, padding, output_padding, dilation)
    dk, dx = np.zeros_like(kernel), np.zeros_like(x)
    for i, t, o in _positions(x, kernel, strides, dilation, geometry):
        g = dy[(slice(None), *o)]  # (batch, filters)
        xi = x[(slice(None), *i)]  # (batch, in)
        dk[t] += g.T @ xi
        dx[(slice(None), *i)] += g @ kernel[t]
    return dk, dy.sum(axis=tuple(range(dy.ndim - 1))), dx
