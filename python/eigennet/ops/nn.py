"""`keras.ops`' neural-network functions: activations, softmax, one-hot, moments,
normalization, cross-entropies and attention, with Keras 3's formulas and defaults.

Like the NumPy-like ops, each computes on arrays and records native ops on symbolic tensors;
the composite ones (cross-entropies, attention, normalization) are written once in terms of the
other ops, so both paths share their formula.
"""

from __future__ import annotations

import math

import numpy as np

from eigennet.ops import numpy as onp
from eigennet.ops import symbolic
from eigennet.ops.numpy import _array, _axis
from eigennet.ops.symbolic import is_symbolic, record

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _activation(name: str, numpy_fn, kind: str | None = None, alpha: float = 0.0):
    def op(x):
        if is_symbolic(x):
            return record(name, "UnaryOp", [x], kind or name, float(alpha), 0.0)
        return numpy_fn(_array(x))

    op.__name__ = name
    op.__doc__ = f"The `{name}` activation, element-wise."
    return op


def _sigmoid(x):
    return (1 / (1 + np.exp(-x))).astype(x.dtype if x.dtype.kind == "f" else "float32")


relu = _activation("relu", lambda x: np.maximum(x, 0))
relu6 = _activation("relu6", lambda x: np.clip(x, 0, 6))
sigmoid = _activation("sigmoid", _sigmoid)
softplus = _activation("softplus", lambda x: np.logaddexp(0, x).astype(x.dtype))
softsign = _activation("softsign", lambda x: x / (1 + np.abs(x)))
silu = swish = _activation("silu", lambda x: x * _sigmoid(x))
hard_sigmoid = _activation("hard_sigmoid", lambda x: np.clip(x + 3, 0, 6) / 6)
hard_silu = hard_swish = _activation("hard_silu", lambda x: x * np.clip(x + 3, 0, 6) / 6)
log_sigmoid = _activation("log_sigmoid", lambda x: -np.logaddexp(0, -x).astype(x.dtype))
selu = _activation(
    "selu", lambda x: _SELU_SCALE * np.where(x > 0, x, _SELU_ALPHA * np.expm1(np.minimum(x, 0)))
)


def leaky_relu(x, negative_slope: float = 0.2):
    """`x` for x >= 0, else `negative_slope * x`."""
    if is_symbolic(x):
        return record("leaky_relu", "UnaryOp", [x], "leaky_relu", float(negative_slope), 0.0)
    x = _array(x)
    return np.where(x >= 0, x, negative_slope * x).astype(x.dtype)


def elu(x, alpha: float = 1.0):
    """`x` for x > 0, else `alpha * (exp(x) - 1)`."""
    if is_symbolic(x):
        return record("elu", "UnaryOp", [x], "elu", float(alpha), 0.0)
    x = _array(x)
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0))).astype(x.dtype)


def gelu(x, approximate: bool = True):
    """The Gaussian error linear unit; the tanh approximation by default (Keras's ops)."""
    kind = "gelu_tanh" if approximate else "gelu"
    if is_symbolic(x):
        return record("gelu", "UnaryOp", [x], kind, 0.0, 0.0)
    x = _array(x)
    if approximate:
        c = math.sqrt(2 / math.pi)
        return (0.5 * x * (1 + np.tanh(c * (x + 0.044715 * x**3)))).astype(x.dtype)
    return (0.5 * x * (1 + onp.erf(x / math.sqrt(2)))).astype(x.dtype)


def _softmax(name: str, x, axis):
    if is_symbolic(x):
        t = symbolic.operand(x, symbolic.dtype_of(x))
        if axis is None:
            axis = -1
        return record(name, "SoftmaxOp", [t], name, _axis(axis, len(t.shape), f"ops.{name}"))
    x = _array(x)
    axis = -1 if axis is None else axis
    shifted = x - np.max(x, axis=axis, keepdims=True)
    if name == "softmax":
        e = np.exp(shifted)
        return (e / np.sum(e, axis=axis, keepdims=True)).astype(x.dtype, copy=False)
    return (shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))).astype(x.dtype)


def softmax(x, axis: int = -1):
    """The softmax over `axis`."""
    return _softmax("softmax", x, axis)


def log_softmax(x, axis: int = -1):
    """The log of the softmax over `axis`, computed stably."""
    return _softmax("log_softmax", x, axis)


def one_hot(x, num_classes: int, axis: int = -1, dtype=None):
    """Class indices as one-hot vectors (a new last axis)."""
    if axis != -1:
        raise ValueError("ops.one_hot: only axis=-1 is supported")
    if is_symbolic(x):
        return record("one_hot", "OneHotOp", [x], int(num_classes))
    x = np.asarray(x).astype(np.int64)
    out = np.zeros((*x.shape, num_classes), dtype=dtype or "float32")
    valid = (x >= 0) & (x < num_classes)
    np.put_along_axis(out, np.where(valid, x, 0)[..., None], valid[..., None].astype(out.dtype), -1)
    return out


def moments(x, axes, keepdims: bool = False, synchronized: bool = False):
    """(mean, variance) over `axes`."""
    mean = onp.mean(x, axis=axes, keepdims=True)
    variance = onp.mean(onp.square(onp.subtract(x, mean)), axis=axes, keepdims=keepdims)
    if not keepdims:
        mean = onp.squeeze(mean, axis=axes) if is_symbolic(mean) else np.squeeze(mean, axis=axes)
    return mean, variance


def batch_normalization(x, mean, variance, axis: int, offset=None, scale=None, epsilon=1e-3):
    """`(x - mean) / sqrt(variance + epsilon) * scale + offset`, the statistics along `axis`."""
    rank = len(onp.shape(x))
    axis = axis % rank

    def along(v):
        if v is None:
            return None
        shape = [1] * rank
        shape[axis] = onp.shape(x)[axis]
        return onp.reshape(v, shape) if not is_symbolic(x, v) or rank > 1 else v

    inv = onp.rsqrt(onp.add(along(variance), epsilon))
    if scale is not None:
        inv = onp.multiply(inv, along(scale))
    out = onp.multiply(onp.subtract(x, along(mean)), inv)
    return out if offset is None else onp.add(out, along(offset))


def categorical_crossentropy(target, output, from_logits: bool = False, axis: int = -1):
    """`-sum(target * log(p))` over `axis`; `output` is probabilities (clipped to
    [eps, 1 - eps] as Keras) or logits."""
    if from_logits:
        log_p = log_softmax(output, axis=axis)
    else:
        p = onp.divide(output, onp.sum(output, axis=axis, keepdims=True))
        log_p = onp.log(onp.clip(p, 1e-7, 1 - 1e-7))
    return onp.negative(onp.sum(onp.multiply(target, log_p), axis=axis))


def sparse_categorical_crossentropy(target, output, from_logits: bool = False, axis: int = -1):
    """The categorical cross-entropy of class indices `target`."""
    classes = onp.shape(output)[axis]
    return categorical_crossentropy(one_hot(target, classes), output, from_logits, axis)


def binary_crossentropy(target, output, from_logits: bool = False):
    """Element-wise binary cross-entropy of probabilities (clipped) or logits."""
    if from_logits:
        # max(z, 0) - z * t + log(1 + exp(-|z|))
        return onp.add(
            onp.subtract(relu(output), onp.multiply(output, target)),
            onp.log1p(onp.exp(onp.negative(onp.absolute(output)))),
        )
    p = onp.clip(output, 1e-7, 1 - 1e-7)
    return onp.negative(
        onp.add(
            onp.multiply(target, onp.log(p)),
            onp.multiply(onp.subtract(1.0, target), onp.log(onp.subtract(1.0, p))),
        )
    )


def dot_product_attention(
    query, key, value, bias=None, mask=None, scale=None, is_causal: bool = False, **kwargs
):
    """softmax(q k^T * scale + bias, masked) v over (batch, length, heads, head size) tensors,
    Keras's layout; scale defaults to 1/sqrt(head size). Key and value may have fewer heads
    than the query when they divide its heads (grouped-query attention: query head n reads
    key head n // (N / K)). On symbolic tensors without bias, and with a mask that is the same
    for every head, it is one fused native op, blocked over the keys, which keeps no
    (B, N, T, S) tensor: its memory grows linearly with the sequence length."""
    if kwargs.get("flash_attention") not in (None, False):
        raise ValueError("ops.dot_product_attention: flash_attention is not supported")
    if kwargs.get("attn_logits_soft_cap") is not None:
        raise ValueError("ops.dot_product_attention: attn_logits_soft_cap is not supported")
    if bias is None and is_symbolic(query, key, value, mask):
        per_head = _mask_for_every_head(mask, onp.shape(query)[1], onp.shape(key)[1])
        if mask is None or per_head is not None:
            return masked_attention(query, key, value, scale, is_causal, mask=per_head)
    head = onp.shape(query)[-1]
    scale = 1.0 / math.sqrt(head) if scale is None else float(scale)
    groups = onp.shape(query)[2] // max(onp.shape(key)[2], 1)
    if groups > 1 and onp.shape(key)[2] * groups == onp.shape(query)[2]:
        key, value = onp.repeat(key, groups, axis=2), onp.repeat(value, groups, axis=2)
    scores = onp.multiply(onp.einsum("btnh,bsnh->bnts", query, key), scale)
    if bias is not None:
        scores = onp.add(scores, bias)
    t, s = onp.shape(query)[1], onp.shape(key)[1]
    if is_causal:
        causal = np.tril(np.ones((t, s), dtype=bool))
        mask = causal if mask is None else onp.logical_and(mask, causal)
    if mask is not None:
        scores = onp.where(mask, scores, -1e9)
    weights = softmax(scores, axis=-1)
    return onp.einsum("bnts,bsnh->btnh", weights, value)


def _mask_for_every_head(mask, t, s):
    """A mask broadcastable to (B, N, T, S) whose head axis is 1, as a (B or 1, T, S) float
    tensor for the fused op; None when it varies by head (or there is none)."""
    if mask is None:
        return None
    shape = tuple(onp.shape(mask))
    if len(shape) < 2 or shape[-2:] != (t, s) or len(shape) > 4:
        return None
    lead = (1,) * (4 - len(shape)) + shape[:-2]  # (batch, heads)
    if lead[1] != 1:
        return None
    keep = float_mask(mask)
    batch = -1 if lead[0] is None else 1 if lead[0] == 1 else None
    if batch is None:
        return None
    return onp.reshape(keep, (batch, t, s)) if is_symbolic(keep) else keep.reshape(1, t, s)


def float_mask(mask, dtype: str = "float32"):
    """A Keras mask (bool, or numbers: > 0.5 attends) as ones and zeros of `dtype`."""
    if is_symbolic(mask):
        return onp.cast(onp.greater(mask, 0.5), dtype)
    mask = np.asarray(mask)
    return (mask if mask.dtype == bool else mask > 0.5).astype(dtype)


def masked_attention(
    query,
    key,
    value,
    scale=None,
    is_causal=False,
    query_mask=None,
    key_mask=None,
    mask=None,
    dropout=0.0,
    seed=0,
):
    """Attention where query t may see key s when s <= t (causal), query_mask[b, t],
    key_mask[b, s] and mask[b, t, s] all allow it (masks of ones and zeros; batch axis the
    batch or 1); a query that may see no key gives zeros, as Keras's masked softmax. One
    fused native op on symbolic tensors (the masks are its extra inputs, never combined into
    a (B, T, S) tensor); NumPy on arrays. `dropout` (symbolic only) drops probabilities in
    training exactly as `random.dropout(probabilities, dropout, seed=seed)` over the
    (B, heads, T, S) probabilities would, without holding them."""
    masks = {"query_mask": query_mask, "key_mask": key_mask, "mask": mask}
    given = {name: m for name, m in masks.items() if m is not None}
    if is_symbolic(query, key, value, *given.values()):
        return record(
            "dot_product_attention",
            "DotProductAttentionOp",
            [query, key, value, *given.values()],
            None if scale is None else float(scale),
            bool(is_causal),
            *(name in given for name in masks),
            float(dropout),
            int(seed),
            as_list=True,
        )
    if dropout:
        raise ValueError("masked_attention: dropout applies to symbolic tensors (a traced call)")
    t, s = onp.shape(query)[1], onp.shape(key)[1]
    keep = np.ones((1, t, s), dtype=bool)
    if is_causal:
        keep = keep & np.tril(np.ones((t, s), dtype=bool))
    if query_mask is not None:
        keep = keep & (np.asarray(query_mask) > 0.5)[:, :, None]
    if key_mask is not None:
        keep = keep & (np.asarray(key_mask) > 0.5)[:, None, :]
    if mask is not None:
        keep = keep & (np.asarray(mask) > 0.5)
    keep = keep[:, None]  # (B, 1, T, S): every head
    out = dot_product_attention(query, key, value, mask=keep, scale=scale)
    rows = keep.any(axis=-1)[..., None]  # (B, 1, T, 1): queries that see some key
    return np.where(np.swapaxes(rows, 1, 2), out, 0).astype(out.dtype)


# -- convolution and pooling (1-D and 2-D, channels last) ---------------------------------------
def _window_args(name: str, x, size, strides, padding, data_format, dilation_rate=1):
    """Keras's arguments as (spatial rank, sizes, strides, padding, dilation) tuples."""
    rank = len(onp.shape(x)) - 2
    if rank not in (1, 2):
        raise ValueError(
            f"ops.{name}: inputs of shape {onp.shape(x)} must be (batch, steps, channels) or "
            "(batch, rows, cols, channels); only 1-D and 2-D are supported"
        )
    if data_format not in (None, "channels_last"):
        raise ValueError(f"ops.{name}: only data_format='channels_last' is supported")
    padding = str(padding).lower()
    if padding not in ("valid", "same"):
        raise ValueError(f"ops.{name}: padding must be 'valid' or 'same', got {padding!r}")

    def per_axis(value, what):
        values = (value,) * rank if isinstance(value, (int, np.integer)) else tuple(value)
        if len(values) != rank or any(int(v) < 1 for v in values):
            raise ValueError(f"ops.{name}: {what} must be {rank} positive int(s), got {value!r}")
        return tuple(int(v) for v in values)

    sizes = per_axis(size, "pool_size") if size is not None else None
    strides = per_axis(sizes if strides is None else strides, "strides")
    return rank, sizes, strides, padding, per_axis(dilation_rate, "dilation_rate")


def _same_pads(size: int, span: int, stride: int) -> tuple[int, int]:
    """(before, after) padding of 'same' (TensorFlow's rule, the odd element after)."""
    out = -(-size // stride)
    total = max(0, (out - 1) * stride + span - size)
    return total // 2, total - total // 2


def _windows(x: np.ndarray, kernel: tuple, strides: tuple, padding: str, dilation: tuple, fill):
    """The padded input and, per tap (a kernel index), the strided view of the values that
    tap reads for every output position: out[..., tap] = view."""
    rank = len(kernel)
    pads = [(0, 0)]
    for a in range(rank):
        span = dilation[a] * (kernel[a] - 1) + 1
        pads.append(_same_pads(x.shape[1 + a], span, strides[a]) if padding == "same" else (0, 0))
    pads.append((0, 0))
    xp = np.pad(x, pads, constant_values=fill)
    outs = []
    for a in range(rank):
        span = dilation[a] * (kernel[a] - 1) + 1
        out = (xp.shape[1 + a] - span) // strides[a] + 1
        if out < 1:
            raise ValueError(
                f"inputs of shape {x.shape} are smaller than the window {kernel} with padding "
                "'valid'"
            )
        outs.append(out)
    views = {}
    for tap in np.ndindex(*kernel):
        index = [slice(None)]
        for a in range(rank):
            start = tap[a] * dilation[a]
            index.append(slice(start, start + (outs[a] - 1) * strides[a] + 1, strides[a]))
        views[tap] = xp[tuple(index)]
    return views


def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """The N-D (1-D or 2-D) cross-correlation of channels-last `inputs` (batch, spatial...,
    channels) with `kernel` (spatial..., channels, filters), as Keras's ops.conv."""
    rank, _, strides, padding, dilation = _window_args(
        "conv", inputs, None, strides, padding, data_format, dilation_rate
    )
    if max(strides) > 1 and max(dilation) > 1:  # as TensorFlow and the native Conv code
        raise ValueError("ops.conv: strides > 1 is not supported with dilation_rate > 1")
    if is_symbolic(inputs, kernel):
        return record("conv", "ConvOp", [inputs, kernel], list(strides), padding, list(dilation))
    x, k = _array(inputs), _array(kernel)
    if k.ndim != rank + 2 or k.shape[rank] != x.shape[-1]:
        raise ValueError(f"ops.conv: kernel {k.shape} does not fit inputs {x.shape}")
    views = _windows(x, k.shape[:rank], strides, padding, dilation, 0)
    dtype = np.result_type(x, k)
    out = sum(np.tensordot(v, k[tap], axes=([-1], [0])) for tap, v in views.items())
    return np.asarray(out, dtype=dtype)


def depthwise_conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """Each input channel correlated with its own `kernel[..., c, :]` filters (spatial...,
    channels, depth multiplier); output channel c * multiplier + m, as Keras."""
    rank, _, strides, padding, dilation = _window_args(
        "depthwise_conv", inputs, None, strides, padding, data_format, dilation_rate
    )
    if is_symbolic(inputs, kernel):
        return record(
            "depthwise_conv",
            "DepthwiseConvOp",
            [inputs, kernel],
            list(strides),
            padding,
            list(dilation),
        )
    x, k = _array(inputs), _array(kernel)
    if k.ndim != rank + 2 or k.shape[rank] != x.shape[-1]:
        raise ValueError(f"ops.depthwise_conv: kernel {k.shape} does not fit inputs {x.shape}")
    views = _windows(x, k.shape[:rank], strides, padding, dilation, 0)
    out = sum(v[..., :, None] * k[tap] for tap, v in views.items())
    return np.asarray(out.reshape(*out.shape[:-2], -1), dtype=np.result_type(x, k))


def _pool(mode: str, inputs, pool_size, strides, padding, data_format):
    rank, sizes, strides, padding, _ = _window_args(
        f"{mode}_pool", inputs, pool_size, strides, padding, data_format
    )
    if is_symbolic(inputs):
        return record(f"{mode}_pool", "PoolOp", [inputs], mode, list(sizes), list(strides), padding)
    x = _array(inputs)
    ones = (1,) * rank
    if mode == "max":
        fill = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
        views = _windows(x, sizes, strides, padding, ones, fill)
        return np.max(np.stack(list(views.values())), axis=0).astype(x.dtype)
    # Average over the window's positions inside the data ('same' borders: fewer).
    views = _windows(x, sizes, strides, padding, ones, 0)
    counts = _windows(np.ones((1, *x.shape[1:-1], 1)), sizes, strides, padding, ones, 0)
    total = sum(views.values())
    return (total / sum(counts.values())).astype(x.dtype if x.dtype.kind == "f" else "float32")


def max_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """The maximum of each `pool_size` window (strides default to pool_size)."""
    return _pool("max", inputs, pool_size, strides, padding, data_format)


def average_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """The mean of each `pool_size` window over its positions inside the data."""
    return _pool("average", inputs, pool_size, strides, padding, data_format)


def _adaptive_pool(mode: str, inputs, output_size, data_format):
    """Pooling to `output_size` along each spatial axis in turn: output i of an axis of n
    covers [floor(i n / out), ceil((i + 1) n / out)), PyTorch's and Keras's bins. Sliced with
    ops, so that the same code traces (one small op per bin and axis)."""
    from eigennet.layers._ops_layer import standardize_data_format

    what = f"ops.adaptive_{mode}_pool"
    shape = tuple(inputs.shape) if hasattr(inputs, "shape") else np.shape(inputs)
    rank = len(shape) - 2
    if rank not in (1, 2, 3):
        raise ValueError(f"{what}: inputs must have rank 3, 4 or 5, got shape {shape}")
    sizes = (output_size,) * rank if isinstance(output_size, (int, np.integer)) else output_size
    sizes = tuple(sizes)
    if len(sizes) != rank or not all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v > 0 for v in sizes
    ):
        raise ValueError(
            f"{what}: output_size must be a positive integer or {rank} of them, got {output_size!r}"
        )
    first = 2 if standardize_data_format(data_format) == "channels_first" else 1
    x = inputs if is_symbolic(inputs) else _array(inputs)
    reduce = onp.max if mode == "max" else onp.mean
    for axis, out in zip(range(first, first + rank), sizes):
        n = shape[axis]
        if n is None:
            raise ValueError(f"{what}: spatial axis {axis} needs a known size, got shape {shape}")
        pieces = []
        for i in range(out):
            index = [slice(None)] * len(shape)
            index[axis] = slice(i * n // out, -(-(i + 1) * n // out))
            pieces.append(reduce(x[tuple(index)], axis=axis, keepdims=True))
        x = onp.concatenate(pieces, axis=axis) if out > 1 else pieces[0]
    return x


def adaptive_average_pool(inputs, output_size, data_format=None):
    """The mean over bins that divide each spatial axis into `output_size` parts."""
    return _adaptive_pool("average", inputs, output_size, data_format)


def adaptive_max_pool(inputs, output_size, data_format=None):
    """The maximum over bins that divide each spatial axis into `output_size` parts."""
    return _adaptive_pool("max", inputs, output_size, data_format)


# -- Keras 3's newer activations, composed of the ops above (both paths, one formula) ------
def _float(x):
    """x as a float array or symbolic tensor (integers become float32, as Keras)."""
    if is_symbolic(x):
        return x
    a = _array(x)
    return a if a.dtype.kind == "f" else a.astype("float32")


def celu(x, alpha=1.0):
    """Continuously differentiable ELU: `max(x, 0) + alpha * expm1(min(x, 0) / alpha)`."""
    x = _float(x)
    return onp.maximum(x, 0.0) + alpha * onp.expm1(onp.minimum(x, 0.0) / alpha)


def glu(x, axis=-1):
    """Gated linear unit: `a * sigmoid(b)`, `a` and `b` the halves of `x` along `axis`."""
    x = _float(x)
    size = onp.shape(x)[axis]
    if size is None or size % 2:
        raise ValueError(f"ops.glu: axis {axis} of {onp.shape(x)} must have an even length")
    a, b = onp.split(x, 2, axis=axis)
    return a * sigmoid(b)


def hard_tanh(x):
    """`x` clipped to [-1, 1]."""
    return onp.clip(_float(x), -1.0, 1.0)


def hard_shrink(x, threshold=0.5):
    """`x` where `|x| > threshold`, else 0."""
    x = _float(x)
    return onp.where(onp.greater(onp.abs(x), threshold), x, onp.zeros_like(x))


def soft_shrink(x, threshold=0.5):
    """`x` moved `threshold` toward 0, and 0 within [-threshold, threshold]."""
    x = _float(x)
    zero = onp.zeros_like(x)
    below = onp.where(onp.less(x, -threshold), x + threshold, zero)
    return onp.where(onp.greater(x, threshold), x - threshold, below)


def tanh_shrink(x):
    """`x - tanh(x)`."""
    x = _float(x)
    return x - onp.tanh(x)


def squareplus(x, b=4):
    """`(x + sqrt(x ** 2 + b)) / 2`, a smooth relu."""
    x = _float(x)
    return (x + onp.sqrt(onp.square(x) + b)) / 2.0


def sparse_plus(x):
    """0 for `x <= -1`, `(x + 1) ** 2 / 4` in between, `x` for `x >= 1`."""
    x = _float(x)
    middle = onp.where(onp.less(x, 1.0), 0.25 * onp.square(x + 1.0), x)
    return onp.where(onp.less_equal(x, -1.0), onp.zeros_like(x), middle)


def sparse_sigmoid(x):
    """0 for `x <= -1`, `(x + 1) / 2` in between, 1 for `x >= 1`."""
    x = _float(x)
    middle = onp.where(onp.greater_equal(x, 1.0), onp.ones_like(x), 0.5 * (x + 1.0))
    return onp.where(onp.less_equal(x, -1.0), onp.zeros_like(x), middle)


def threshold(x, threshold, default_value):  # noqa: A002 (Keras's name)
    """`x` where `x > threshold`, else `default_value`."""
    x = _float(x)
    return onp.where(onp.greater(x, threshold), x, onp.full_like(x, default_value))


def normalize(x, axis=-1, order=2, epsilon=None):
    """`x` divided by its `order`-norm along `axis` (at least `epsilon`, by default
    `config.epsilon()`), as Keras's."""
    from eigennet import config

    if order != 2:
        raise ValueError(f"ops.normalize: order={order!r} is not supported (the 2-norm is)")
    x = _float(x)
    eps = config.epsilon() if epsilon is None else epsilon
    return x / onp.maximum(onp.norm(x, axis=axis, keepdims=True), eps)


def rms_normalization(x, scale=1, axis=-1, epsilon=None):
    """`x * rsqrt(mean(x ** 2 over axis) + epsilon) * scale` (epsilon: config.epsilon()
    when None), as Keras's."""
    from eigennet import config

    x = _float(x)
    eps = config.epsilon() if epsilon is None else epsilon
    axis = sorted(axis) if isinstance(axis, (list, tuple)) else axis
    out = x * onp.rsqrt(onp.mean(onp.square(x), axis=axis, keepdims=True) + eps)
    return out if scale is None else _scaled(out, scale, axis, len(onp.shape(x)))


def layer_normalization(x, gamma=None, beta=None, axis=-1, epsilon=None, rms_scaling=False):
    """`(x - mean) * rsqrt(variance + epsilon) * gamma + beta` over `axis` (epsilon:
    config.epsilon() when None), as Keras's."""
    from eigennet import config

    if rms_scaling:
        return rms_normalization(x, gamma, axis, epsilon)
    x = _float(x)
    eps = config.epsilon() if epsilon is None else epsilon
    axis = sorted(axis) if isinstance(axis, (list, tuple)) else axis
    mean, variance = moments(x, axes=axis if isinstance(axis, list) else [axis], keepdims=True)
    out = (x - mean) * onp.rsqrt(variance + eps)
    rank = len(onp.shape(x))
    if gamma is not None:
        out = _scaled(out, gamma, axis, rank)
    if beta is not None:
        out = out + _along(beta, axis, rank)
    return out


def _along(weight, axis, rank: int):
    """A weight of the normalized axes' shape, reshaped to broadcast along them."""
    axes = [a % rank for a in (axis if isinstance(axis, list) else [axis])]
    if not onp.shape(weight) or len(onp.shape(weight)) == rank:
        return weight
    shape = [1] * rank
    for a, d in zip(axes, onp.shape(weight)):
        shape[a] = d
    return onp.reshape(weight, shape)


def _scaled(out, scale, axis, rank: int):
    return out * _along(scale, axis, rank)


def sparsemax(x, axis=-1):
    """Sparsemax along `axis`: the Euclidean projection of `x` onto the probability simplex,
    `max(x - tau, 0)` (many outputs exactly 0). Composed of sort, cumsum and comparisons, so
    its gradient is the projection's."""
    from eigennet.ops import sorting

    x = _float(x)
    rank = len(onp.shape(x))
    axis = _axis(axis, rank, "ops.sparsemax")
    n = onp.shape(x)[axis]
    if not isinstance(n, (int, np.integer)):
        raise ValueError(f"ops.sparsemax: axis {axis} of {onp.shape(x)} must have a known length")
    descending = onp.take(sorting.sort(x, axis=axis), np.arange(n - 1, -1, -1), axis=axis)
    ks = np.arange(1, n + 1, dtype="float32").reshape([n if a == axis else 1 for a in range(rank)])
    cumulative = onp.cumsum(descending, axis=axis)
    support = onp.cast(onp.greater(1.0 + ks * descending, cumulative), "float32")
    k = onp.sum(support, axis=axis, keepdims=True)  # the support's size (at least 1)
    tau = (onp.take_along_axis(cumulative, onp.cast(k - 1.0, "int32"), axis=axis) - 1.0) / k
    return onp.maximum(x - tau, 0.0)
