"""Convolution and pooling over any number of spatial axes (channels last), with plain loops
over the output positions: the references of Conv3D and the 3-D pooling layers.

Padding along each axis as ``reference.conv.pads`` (Keras 3's rule). Max pooling sends the
gradient to the first maximum of a window in row-major window order; padding never wins.
Average pooling divides by the number of window positions inside the data.
"""

import numpy as np

from .conv import pads


def _axes(x, kernel, strides, dilation, padding):
    """[(before, after, out)] per spatial axis."""
    return [
        pads(x.shape[1 + a], kernel[a], strides[a], dilation[a], padding) for a in range(x.ndim - 2)
    ]


def _taps(pos, kernel, strides, dilation):
    """Open-mesh indices (into the padded input) of the window of output position `pos`."""
    return np.ix_(*[pos[a] * strides[a] + dilation[a] * np.arange(k) for a, k in enumerate(kernel)])


def conv_forward(x, kernel, bias, strides, padding, dilation):
    rank = x.ndim - 2
    axes = _axes(x, kernel.shape[:rank], strides, dilation, padding)
    xp = np.pad(x, [(0, 0)] + [(b, a) for b, a, _ in axes] + [(0, 0)])
    out = tuple(o for _, _, o in axes)
    y = np.zeros((x.shape[0], *out, kernel.shape[-1]))
    for pos in np.ndindex(out):
        patch = xp[(slice(None), *_taps(pos, kernel.shape[:rank], strides, dilation))]
        y[(slice(None), *pos)] = np.tensordot(patch, kernel, axes=rank + 1)
    return y if bias is None else y + bias


def conv_backward(x, kernel, strides, padding, dilation, dy):
    """(d_kernel, d_bias, dx) of sum(dy * conv_forward(...))."""
    rank = x.ndim - 2
    axes = _axes(x, kernel.shape[:rank], strides, dilation, padding)
    xp = np.pad(x, [(0, 0)] + [(b, a) for b, a, _ in axes] + [(0, 0)])
    dk, dxp = np.zeros(kernel.shape), np.zeros(xp.shape)
    for pos in np.ndindex(dy.shape[1:-1]):
        window = (slice(None), *_taps(pos, kernel.shape[:rank], strides, dilation))
        g = dy[(slice(None), *pos)]  # (n, filters)
        dk += np.tensordot(xp[window], g, axes=(0, 0))
        dxp[window] += np.tensordot(g, kernel, axes=(1, rank + 1))
    crop = tuple(slice(b, b + n) for (b, _, _), n in zip(axes, x.shape[1:-1]))
    return dk, dy.sum(axis=tuple(range(rank + 1))), dxp[(slice(None), *crop)]


def _windows(x, pool, strides, padding):
    """Yields (output position, slices of the window's in-data positions)."""
    rank = x.ndim - 2
    axes = _axes(x, pool, strides, (1,) * rank, padding)
    for pos in np.ndindex(tuple(o for _, _, o in axes)):
        yield pos, tuple(
            slice(max(0, pos[a] * strides[a] - axes[a][0]),
                  min(x.shape[1 + a], pos[a] * strides[a] - axes[a][0] + pool[a]))
            for a in range(rank)
        )  # fmt: skip


def pool_forward(mode, x, pool, strides, padding):
    results = {}
    for pos, window in _windows(x, pool, strides, padding):
        values = x[(slice(None), *window)].reshape(len(x), -1, x.shape[-1])
        results[pos] = values.max(axis=1) if mode == "max" else values.mean(axis=1)
    out_shape = tuple(np.max(list(results), axis=0) + 1)
    y = np.zeros((len(x), *out_shape, x.shape[-1]))
    for pos, v in results.items():
        y[(slice(None), *pos)] = v
    return y


def pool_backward(mode, x, pool, strides, padding, dy):
    dx = np.zeros(x.shape)
    n, ch = len(x), x.shape[-1]
    for pos, window in _windows(x, pool, strides, padding):
        g = dy[(slice(None), *pos)]  # (n, channels)
        region = dx[(slice(None), *window)]  # a view
        if mode == "average":
            region += g.reshape(n, *[1] * (x.ndim - 2), ch) / (region.size // (n * ch))
            continue
        values = x[(slice(None), *window)].reshape(n, -1, ch)
        first = values.argmax(axis=1)  # the first maximum, row-major
        flat = region.reshape(n, -1, ch)  # a view: the window is a block of slices
        for b in range(n):
            for c in range(ch):
                flat[b, first[b, c], c] += g[b, c]
        region[...] = flat.reshape(region.shape)
    return dx
