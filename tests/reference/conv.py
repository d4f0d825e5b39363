"""Conv1D / Conv2D (channels last) forward and backward, written with plain loops.

Padding follows Keras 3's torch backend (``_compute_padding_length``), written out here
independently of eigennet: "same" pads ``span - 1`` in total when the stride is 1, else
``max(0, (out - 1) * stride + span - in)``, the odd element after the data; "causal" pads
``span - 1`` before the data. ``span = dilation * (kernel - 1) + 1``.
A 1-D input (batch, steps, channels) is handled as a 2-D one with a single row.
"""

import numpy as np

from . import activations


def pads(n, k, stride, dilation, padding):
    """(before, after, out) along one axis of length n."""
    span = dilation * (k - 1) + 1
    if padding == "valid":
        return 0, 0, (n - span) // stride + 1
    out = (n + stride - 1) // stride
    if padding == "causal":
        return span - 1, 0, out
    total = span - 1 if stride == 1 else max(0, (out - 1) * stride + span - n)
    return total // 2, total - total // 2, out


def _as_2d(x, kernel, strides, dilation):
    """Rank-1 arguments lifted to rank 2 (a single row)."""
    if x.ndim == 3:
        return x[:, None], kernel[None], (1, *strides), (1, *dilation), True
    return x, kernel, tuple(strides), tuple(dilation), False


def _geometry(x, kernel, strides, padding, dilation, one_d):
    (_, h, w, _), (kh, kw) = x.shape, kernel.shape[:2]
    top, bottom, oh = pads(h, kh, strides[0], dilation[0], "valid" if one_d else padding)
    left, right, ow = pads(w, kw, strides[1], dilation[1], padding)
    xp = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
    return xp, (top, left), oh, ow


def _taps(o, stride, k, dilation):
    return o * stride + dilation * np.arange(k)


def forward(x, kernel, bias, strides, padding, dilation, activation="linear"):
    """Returns (y, z): output and pre-activation."""
    x, kernel, strides, dilation, one_d = _as_2d(
        np.asarray(x), np.asarray(kernel), strides, dilation
    )
    xp, _, oh, ow = _geometry(x, kernel, strides, padding, dilation, one_d)
    kh, kw, _, f = kernel.shape
    z = np.zeros((x.shape[0], oh, ow, f), dtype=np.result_type(x, kernel))
    for i in range(oh):
        rows = _taps(i, strides[0], kh, dilation[0])
        for j in range(ow):
            cols = _taps(j, strides[1], kw, dilation[1])
            patch = xp[:, rows[:, None], cols[None, :], :]  # (n, kh, kw, c)
            z[:, i, j, :] = np.einsum("nhwc,hwcf->nf", patch, kernel)
    if bias is not None:
        z = z + bias
    y = activations.forward(activation, z.reshape(-1, f)).reshape(z.shape)
    if one_d:
        y, z = y[:, 0], z[:, 0]
    return y, z


def backward(x, kernel, bias, strides, padding, dilation, dy, activation="linear"):
    """Gradients (d_kernel, d_bias or None, dx) given dL/dy."""
    _, z = forward(x, kernel, bias, strides, padding, dilation, activation)
    dz = activations.backward(activation, z.reshape(-1, z.shape[-1]), dy.reshape(-1, z.shape[-1]))
    dz = dz.reshape(z.shape)
    k_shape = np.shape(kernel)
    x, kernel, strides, dilation, one_d = _as_2d(
        np.asarray(x), np.asarray(kernel), strides, dilation
    )
    if one_d:
        dz = dz[:, None]
    xp, (top, left), oh, ow = _geometry(x, kernel, strides, padding, dilation, one_d)
    kh, kw = kernel.shape[:2]
    dk = np.zeros(kernel.shape)
    dxp = np.zeros(xp.shape)
    for i in range(oh):
        rows = _taps(i, strides[0], kh, dilation[0])
        for j in range(ow):
            cols = _taps(j, strides[1], kw, dilation[1])
            patch = xp[:, rows[:, None], cols[None, :], :]
            dk += np.einsum("nhwc,nf->hwcf", patch, dz[:, i, j, :])
            dxp[:, rows[:, None], cols[None, :], :] += np.einsum(
                "nf,hwcf->nhwc", dz[:, i, j, :], kernel
            )
    dx = dxp[:, top : top + x.shape[1], left : left + x.shape[2], :]
    db = None if bias is None else dz.sum(axis=(0, 1, 2))
    if one_d:
        dx = dx[:, 0]
    return dk.reshape(k_shape), db, dx


def int8_forward(x, kernel, kernel_scale, bias, strides, padding, dilation, activation="linear"):
    """The int8 convolution (float32): each output pixel's receptive field quantized as
    Keras's Dense quantizes a row of inputs (127 / (max|patch| + 1e-7), round half to even,
    clipped to +-127), the integer product with the int8 kernel, divided by
    kernel_scale * the patch's scale, then bias and activation. Returns y."""
    x, kernel, strides, dilation, one_d = _as_2d(
        np.asarray(x, np.float32), np.asarray(kernel), strides, dilation
    )
    xp, _, oh, ow = _geometry(x, kernel, strides, padding, dilation, one_d)
    kh, kw, _, f = kernel.shape
    matrix = kernel.reshape(-1, f).astype(np.int64)
    z = np.zeros((x.shape[0], oh, ow, f), dtype=np.float32)
    for i in range(oh):
        rows = _taps(i, strides[0], kh, dilation[0])
        for j in range(ow):
            cols = _taps(j, strides[1], kw, dilation[1])
            patch = xp[:, rows[:, None], cols[None, :], :].reshape(x.shape[0], -1)
            scale = np.float32(127) / (np.abs(patch).max(axis=1) + np.float32(1e-7))
            q = np.clip(np.rint(patch * scale[:, None]), -127, 127).astype(np.int64)
            acc = (q @ matrix).astype(np.float32)
            z[:, i, j, :] = acc / (kernel_scale.astype(np.float32) * scale[:, None])
    if bias is not None:
        z = z + bias.astype(np.float32)
    y = activations.forward(activation, z.reshape(-1, f)).reshape(z.shape).astype(np.float32)
    return y[:, 0] if one_d else y
