"""Max and average pooling (channels last) forward and backward, written with plain loops.

Windows and "same" padding as ``reference.conv.pads`` (dilation 1). Max pooling sends the
gradient to the first maximum of a window in row-major window order; padding never wins.
Average pooling divides by the number of window positions inside the data (Keras's rule).
``keras315_torch_average`` reproduces the installed Keras 3.15 torch backend instead, which
replicates the border values when the "same" padding is uneven (fixed upstream in
keras-team/keras#23233).
"""

import numpy as np

from .conv import pads


def _lift(x):
    return (x[:, None], True) if x.ndim == 3 else (x, False)


def _windows(x, pool, strides, padding):
    """Yields (i, j, rows, cols) with the in-data rows/cols of each output window."""
    (_, h, w, _), one_d = x.shape, False
    if len(pool) == 1:
        pool, strides, one_d = (1, *pool), (1, *strides), True
    top, _, oh = pads(h, pool[0], strides[0], 1, "valid" if one_d else padding)
    left, _, ow = pads(w, pool[1], strides[1], 1, padding)
    for i in range(oh):
        r0 = i * strides[0] - top
        rows = [r for r in range(r0, r0 + pool[0]) if 0 <= r < h]
        for j in range(ow):
            c0 = j * strides[1] - left
            cols = [c for c in range(c0, c0 + pool[1]) if 0 <= c < w]
            yield i, j, rows, cols, oh, ow


def forward(mode, x, pool, strides, padding):
    x, one_d = _lift(np.asarray(x))
    out = None
    for i, j, rows, cols, oh, ow in _windows(x, pool, strides, padding):
        if out is None:
            out = np.zeros((x.shape[0], oh, ow, x.shape[3]), dtype=x.dtype)
        window = x[:, rows][:, :, cols]  # (n, r, c, ch)
        out[:, i, j] = window.max(axis=(1, 2)) if mode == "max" else window.mean(axis=(1, 2))
    return out[:, 0] if one_d else out


def backward(mode, x, pool, strides, padding, dy):
    x, one_d = _lift(np.asarray(x))
    dy = dy[:, None] if one_d else dy
    dx = np.zeros(x.shape)
    n, _, _, ch = x.shape
    for i, j, rows, cols, _, _ in _windows(x, pool, strides, padding):
        window = x[:, rows][:, :, cols].reshape(n, -1, ch)  # row-major window order
        positions = [(r, c) for r in rows for c in cols]
        if mode == "max":
            first = window.argmax(axis=1)  # first maximum
            for b in range(n):
                for k in range(ch):
                    r, c = positions[first[b, k]]
                    dx[b, r, c, k] += dy[b, i, j, k]
        else:
            for r, c in positions:
                dx[:, r, c, :] += dy[:, i, j, :] / len(positions)
    return dx[:, 0] if one_d else dx


def keras315_torch_average(x, pool, strides, padding):
    """Keras 3.15's torch average_pool: uneven "same" padding replicates the edges (on every
    axis) and averages whole windows; even padding averages only in-data values."""
    x, one_d = _lift(np.asarray(x))
    if one_d:
        pool, strides = (1, *pool), (1, *strides)
    axes = [pads(x.shape[1 + a], pool[a], strides[a], 1, padding) for a in range(2)]
    if padding != "same" or all(before == after for before, after, _ in axes):
        out = forward("average", x, pool, strides, padding)
        return out[:, 0] if one_d else out
    xp = np.pad(x, ((0, 0), axes[0][:2], axes[1][:2], (0, 0)), mode="edge")
    out = forward("average", xp, pool, strides, "valid")
    return out[:, 0] if one_d else out
