"""ONNX converters of the built-in layers that run as one native node.

Each converter takes the graph, the layer, its inputs' ONNX names and full shapes (batch axis
-1, concrete otherwise) and the output's full shape, and returns the output's ONNX name. The
layers written with `keras.ops` (attention, padding, upsampling, ...) reach the export as ops
(see onnx_ops). Activations follow Keras 3's definitions (leaky_relu 0.2, exact gelu).
"""

from __future__ import annotations

import math

import numpy as np

from eigennet.export import onnx_recurrent

_CONVERTERS: dict = {}


def converts(*class_names: str):
    def register(fn):
        for name in class_names:
            _CONVERTERS[name] = fn
        return fn

    return register


def find_converter(layer):
    """The converter of `layer`'s class or of the nearest built-in class it derives from."""
    for cls in type(layer).__mro__:
        if cls.__name__ in _CONVERTERS and cls.__module__.startswith("eigennet."):
            return _CONVERTERS[cls.__name__]
    return None


def convert(g, layer, xs: list[str], shapes: list, out_shape) -> str:
    if getattr(layer, "quantization_mode", None) is not None:  # its weights are int8 values
        raise NotImplementedError(
            f"Layer {layer.name!r} ({type(layer).__name__}) cannot be exported to ONNX: it is "
            f"quantized ({layer.quantization_mode}); export the model before quantize()"
        )
    converter = find_converter(layer)
    if converter is None:
        raise NotImplementedError(
            f"Layer {layer.name!r} ({type(layer).__name__}) cannot be exported to ONNX: "
            "eigennet has no ONNX converter for it"
        )
    return converter(g, layer, xs, [tuple(s) for s in shapes], tuple(out_shape))


def weights(layer) -> dict:
    """The layer's weights by name (Keras's names: kernel, bias, gamma, ...)."""
    return {w.name.split("/")[-1]: w.numpy() for w in layer.weights}


# -- activations -------------------------------------------------------------------------
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def activation(g, name: str, x: str, alpha: float | None = None) -> str:
    """Keras's activation `name` applied to `x` (softmax over the last axis)."""
    if name in ("linear", None):
        return x
    if name == "relu":
        return g.node("Relu", [x])
    if name == "sigmoid":
        return g.node("Sigmoid", [x])
    if name == "tanh":
        return g.node("Tanh", [x])
    if name == "softmax":
        return g.node("Softmax", [x], axis=-1)
    if name == "leaky_relu":
        return g.node("LeakyRelu", [x], alpha=0.2 if alpha is None else float(alpha))
    if name == "elu":
        return g.node("Elu", [x], alpha=1.0 if alpha is None else float(alpha))
    if name == "selu":
        return g.node("Selu", [x], alpha=_SELU_ALPHA, gamma=_SELU_SCALE)
    if name == "gelu":  # exact: x * (1 + erf(x / sqrt 2)) / 2
        erf = g.node("Erf", [g.node("Mul", [x, g.const(1 / math.sqrt(2))])])
        half = g.node("Mul", [x, g.const(0.5)])
        return g.node("Mul", [half, g.node("Add", [erf, g.const(1.0)])])
    if name == "softplus":
        return g.node("Softplus", [x])
    if name in ("swish", "silu"):
        return g.node("Mul", [x, g.node("Sigmoid", [x])])
    raise NotImplementedError(f"activation {name!r} has no ONNX form in eigennet's export")


def _activation_of(layer) -> str:
    """The activation the layer's core runs (any other is exported after it, traced)."""
    return layer._activation_name


@converts("Activation")
def _activation_layer(g, layer, xs, shapes, out_shape):
    return activation(g, _activation_of(layer), xs[0])


@converts("ReLU")
def _relu(g, layer, xs, shapes, out_shape):
    x, c = xs[0], layer.get_config()
    slope, threshold, top = c["negative_slope"], c["threshold"], c["max_value"]
    # x >= threshold: x (capped at max_value), else negative_slope * (x - threshold)
    below = g.node("Mul", [g.node("Sub", [x, g.const(threshold)]), g.const(slope)])
    above = x if top is None else g.node("Min", [x, g.const(top)])
    keep = g.node("GreaterOrEqual", [x, g.const(threshold)])
    return g.node("Where", [keep, above, below])


@converts("LeakyReLU")
def _leaky_relu(g, layer, xs, shapes, out_shape):
    return g.node("LeakyRelu", [xs[0]], alpha=float(layer.get_config()["negative_slope"]))


@converts("ELU")
def _elu(g, layer, xs, shapes, out_shape):
    return g.node("Elu", [xs[0]], alpha=float(layer.get_config()["alpha"]))


@converts("PReLU")
def _prelu(g, layer, xs, shapes, out_shape):
    return g.node("PRelu", [xs[0], g.const(weights(layer)["alpha"])])


@converts("Softmax")
def _softmax(g, layer, xs, shapes, out_shape):
    axes = layer.get_config()["axis"]
    axes = [axes] if isinstance(axes, int) else list(axes)
    rank = len(shapes[0])
    if len(axes) == 1:
        return g.node("Softmax", [xs[0]], axis=int(axes[0]) % rank)
    axes = g.ints([a % rank for a in axes])  # several axes: exp(x - max) / sum
    shifted = g.node("Sub", [xs[0], g.node("ReduceMax", [xs[0], axes], keepdims=1)])
    e = g.node("Exp", [shifted])
    return g.node("Div", [e, g.node("ReduceSum", [e, axes], keepdims=1)])


@converts("Identity", "Dropout", "Masking", "InputLayer")
def _identity(g, layer, xs, shapes, out_shape):
    return g.node("Identity", [xs[0]])


# -- dense and embedding ------------------------------------------------------------------
@converts("Dense")
def _dense(g, layer, xs, shapes, out_shape):
    w = weights(layer)
    y = g.node("MatMul", [xs[0], g.const(w["kernel"], "kernel")])
    if "bias" in w:
        y = g.node("Add", [y, g.const(w["bias"], "bias")])
    return activation(g, _activation_of(layer), y)


@converts("Embedding")
def _embedding(g, layer, xs, shapes, out_shape):
    ids = g.node("Cast", [xs[0]], to=g.onnx.TensorProto.INT64)
    return g.node("Gather", [g.const(weights(layer)["embeddings"], "embeddings"), ids], axis=0)


# -- reshaping -----------------------------------------------------------------------------
@converts("Flatten", "Reshape")
def _reshape(g, layer, xs, shapes, out_shape):
    return g.reshape(xs[0], [-1, *out_shape[1:]])


# -- normalization -------------------------------------------------------------------------
def _broadcast(values: np.ndarray, rank: int, axes: list[int], shape) -> np.ndarray:
    """Per-axis `values` (over `axes` of a rank-`rank` tensor) shaped to broadcast on it."""
    target = [shape[a] if a in axes else 1 for a in range(rank)]
    return values.reshape(target[1:])


def _axes(axis, rank: int) -> list[int]:
    return sorted(int(a) % rank for a in ([axis] if isinstance(axis, int) else axis))


@converts("BatchNormalization")
def _batch_norm(g, layer, xs, shapes, out_shape):
    c, w = layer.get_config(), weights(layer)
    rank = len(shapes[0])
    axes = _axes(c["axis"], rank)
    mean, var = w["moving_mean"].astype(np.float64), w["moving_variance"].astype(np.float64)
    scale = 1 / np.sqrt(var + c["epsilon"])
    if "gamma" in w:
        scale = scale * w["gamma"]
    shift = -mean * scale + (w["beta"] if "beta" in w else 0)
    y = g.node("Mul", [xs[0], g.const(_broadcast(scale, rank, axes, shapes[0]), "scale")])
    return g.node("Add", [y, g.const(_broadcast(shift, rank, axes, shapes[0]), "shift")])


@converts("LayerNormalization")
def _layer_norm(g, layer, xs, shapes, out_shape):
    c, w = layer.get_config(), weights(layer)
    rank, x = len(shapes[0]), xs[0]
    axes = _axes(c["axis"], rank)
    reduce_axes = g.ints(axes)
    if c.get("rms_scaling"):
        centered = g.node("Sub", [x, g.node("ReduceMean", [x, reduce_axes], keepdims=1)])
        var = g.node("ReduceMean", [g.node("Mul", [centered, centered]), reduce_axes], keepdims=1)
    else:
        x = g.node("Sub", [x, g.node("ReduceMean", [x, reduce_axes], keepdims=1)])
        var = g.node("ReduceMean", [g.node("Mul", [x, x]), reduce_axes], keepdims=1)
    y = g.node("Div", [x, g.node("Sqrt", [g.node("Add", [var, g.const(c["epsilon"])])])])
    if "gamma" in w:
        y = g.node("Mul", [y, g.const(_broadcast(w["gamma"], rank, axes, shapes[0]), "gamma")])
    if "beta" in w:
        y = g.node("Add", [y, g.const(_broadcast(w["beta"], rank, axes, shapes[0]), "beta")])
    return y


# -- convolutions and pooling (channels last in Keras, channels first in ONNX) ------------
def channels_first(g, x: str, rank: int) -> str:
    return g.transpose(x, [0, rank - 1, *range(1, rank - 1)])


def channels_last(g, x: str, rank: int) -> str:
    return g.transpose(x, [0, *range(2, rank), 1])


def _tuple(value, n: int) -> list[int]:
    return [int(v) for v in value] if isinstance(value, (list, tuple)) else [int(value)] * n


def same_pads(sizes, kernel, strides, dilation) -> list[int]:
    """Explicit ONNX pads of Keras's "same" padding (the odd zero after the data)."""
    before, after = [], []
    for n, k, s, d in zip(sizes, kernel, strides, dilation):
        span = (k - 1) * d + 1
        total = max((math.ceil(n / s) - 1) * s + span - n, 0)
        before.append(total // 2)
        after.append(total - total // 2)
    return before + after


def conv_pads(padding: str, sizes, kernel, strides, dilation) -> list[int]:
    n = len(sizes)
    if padding == "same":
        return same_pads(sizes, kernel, strides, dilation)
    if padding == "causal":
        return [(kernel[0] - 1) * dilation[0], 0]
    return [0] * (2 * n)


@converts("Conv1D", "Conv2D", "Conv3D")
def _conv(g, layer, xs, shapes, out_shape):
    c, w = layer.get_config(), weights(layer)
    rank = len(shapes[0])
    n = rank - 2
    kernel = w["kernel"]  # (*k, in / groups, filters)
    k, strides, dilation = (
        list(kernel.shape[:n]),
        _tuple(c["strides"], n),
        _tuple(c["dilation_rate"], n),
    )
    pads = conv_pads(c["padding"].lower(), shapes[0][1:-1], k, strides, dilation)
    onnx_kernel = np.transpose(kernel, [n + 1, n, *range(n)])
    inputs = [channels_first(g, xs[0], rank), g.const(onnx_kernel, "kernel")]
    if "bias" in w:
        inputs.append(g.const(w["bias"], "bias"))
    y = g.node(
        "Conv", inputs, kernel_shape=k, strides=strides, dilations=dilation, pads=pads,
        group=int(c.get("groups", 1)),
    )  # fmt: skip
    return activation(g, _activation_of(layer), channels_last(g, y, rank))


def _transpose_crop(n_in, kernel, stride, dilation, padding, output_padding) -> int:
    """Elements cut from the start of the full transposed convolution (Keras 3's rule)."""
    span = dilation * (kernel - 1) + 1
    if padding == "valid":
        left = span - 1
    else:
        pad = stride + span - 2 if output_padding is None else span + span % 2 - 2 + output_padding
        left = min(pad // 2 + pad % 2, span - 1)
    return span - 1 - left


@converts("Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose")
def _conv_transpose(g, layer, xs, shapes, out_shape):
    c, w = layer.get_config(), weights(layer)
    rank = len(shapes[0])
    n = rank - 2
    kernel = w["kernel"]  # (*k, filters, in)
    k, strides, dilation = (
        list(kernel.shape[:n]),
        _tuple(c["strides"], n),
        _tuple(c["dilation_rate"], n),
    )
    out_pad = c.get("output_padding")
    out_pad = [None] * n if out_pad is None else _tuple(out_pad, n)
    onnx_kernel = np.transpose(kernel, [n + 1, n, *range(n)])  # (in, filters, *k)
    y = g.node(
        "ConvTranspose", [channels_first(g, xs[0], rank), g.const(onnx_kernel, "kernel")],
        kernel_shape=k, strides=strides, dilations=dilation,
    )  # fmt: skip
    begin, end = [0, 0], [0, 0]
    for i in range(n):  # crop (negative pads) or extend with zeros to Keras's output length
        size = shapes[0][1 + i]
        full = (size - 1) * strides[i] + dilation[i] * (k[i] - 1) + 1
        crop = _transpose_crop(
            size, k[i], strides[i], dilation[i], c["padding"].lower(), out_pad[i]
        )
        begin.append(-crop)
        end.append(out_shape[1 + i] - (full - crop))
    if any(begin) or any(end):
        y = g.node("Pad", [y, g.ints(begin + end)])
    y = channels_last(g, y, rank)
    if "bias" in w:
        y = g.node("Add", [y, g.const(w["bias"], "bias")])
    return activation(g, _activation_of(layer), y)


def pool(g, x: str, shape, op_type: str, sizes, strides, padding: str) -> str:
    """Max or average pooling of channels-last `x` (averages over the window's positions
    inside the data, as Keras's "same" padding)."""
    rank = len(shape)
    n = rank - 2
    pads = [0] * (2 * n)
    if padding.lower() == "same":
        pads = same_pads(shape[1:-1], sizes, strides, [1] * n)
    extra = {"count_include_pad": 0} if op_type == "AveragePool" else {}
    y = g.node(
        op_type, [channels_first(g, x, rank)], kernel_shape=list(sizes), strides=list(strides),
        pads=pads, **extra,
    )  # fmt: skip
    return channels_last(g, y, rank)


def _pooling(g, layer, xs, shapes, op_type: str) -> str:
    c = layer.get_config()
    n = len(shapes[0]) - 2
    size = _tuple(c["pool_size"], n)
    strides = size if c["strides"] is None else _tuple(c["strides"], n)
    return pool(g, xs[0], shapes[0], op_type, size, strides, c["padding"])


@converts("MaxPooling1D", "MaxPooling2D", "MaxPooling3D")
def _max_pool(g, layer, xs, shapes, out_shape):
    return _pooling(g, layer, xs, shapes, "MaxPool")


@converts("AveragePooling1D", "AveragePooling2D", "AveragePooling3D")
def _average_pool(g, layer, xs, shapes, out_shape):
    return _pooling(g, layer, xs, shapes, "AveragePool")


def _global(g, layer, xs, shapes, op_type: str) -> str:
    rank = len(shapes[0])
    keep = int(bool(layer.get_config().get("keepdims", False)))
    return g.node(op_type, [xs[0], g.ints(range(1, rank - 1))], keepdims=keep)


@converts("GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D")
def _global_max(g, layer, xs, shapes, out_shape):
    return _global(g, layer, xs, shapes, "ReduceMax")


@converts("GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D")
def _global_average(g, layer, xs, shapes, out_shape):
    if len(xs) > 1:
        raise NotImplementedError(
            f"Layer {layer.name!r} ({type(layer).__name__}) with a mask cannot be exported"
        )
    return _global(g, layer, xs, shapes, "ReduceMean")


# -- merging -------------------------------------------------------------------------------
@converts("Add")
def _add(g, layer, xs, shapes, out_shape):
    return g.node("Sum", xs)


@converts("Subtract")
def _subtract(g, layer, xs, shapes, out_shape):
    return g.node("Sub", xs[:2])


@converts("Multiply")
def _multiply(g, layer, xs, shapes, out_shape):
    y = xs[0]
    for x in xs[1:]:
        y = g.node("Mul", [y, x])
    return y


@converts("Average")
def _average(g, layer, xs, shapes, out_shape):
    return g.node("Mean", xs)


@converts("Maximum")
def _maximum(g, layer, xs, shapes, out_shape):
    return g.node("Max", xs)


@converts("Minimum")
def _minimum(g, layer, xs, shapes, out_shape):
    return g.node("Min", xs)


@converts("Concatenate")
def _concatenate(g, layer, xs, shapes, out_shape):
    return g.node("Concat", xs, axis=int(layer.get_config()["axis"]) % len(shapes[0]))


def _l2_normalize(g, x: str, axis: int) -> str:
    """Keras's l2_normalize: x / sqrt(max(sum(x^2), 1e-12))."""
    squares = g.node("ReduceSum", [g.node("Mul", [x, x]), g.ints([axis])], keepdims=1)
    norm = g.node("Sqrt", [g.node("Max", [squares, g.const(1e-12)])])
    return g.node("Div", [x, norm])


@converts("Dot")
def _dot(g, layer, xs, shapes, out_shape):
    c = layer.get_config()
    axes = c["axes"]
    axes = [axes, axes] if isinstance(axes, int) else list(axes)
    ranks = [len(s) for s in shapes[:2]]
    a0, a1 = (int(a) % r for a, r in zip(axes, ranks))
    x, y = xs[0], xs[1]
    if c.get("normalize"):
        x, y = _l2_normalize(g, x, a0), _l2_normalize(g, y, a1)
    # Keras's batch dot as an einsum: batch "a", contracted "z", the rest in order
    letters = iter("bcdefghijklmnopqrstuvwxy")
    left = ["a"] + ["z" if i == a0 else next(letters) for i in range(1, ranks[0])]
    right = ["a"] + ["z" if i == a1 else next(letters) for i in range(1, ranks[1])]
    result = [ch for ch in left + right[1:] if ch != "z"]
    equation = f"{''.join(left)},{''.join(right)}->{''.join(result)}"
    z = g.node("Einsum", [x, y], equation=equation)
    return g.reshape(z, [-1, *out_shape[1:]])


# -- wrappers and recurrent layers (onnx_recurrent) ----------------------------------------
@converts("TimeDistributed")
def _time_distributed(g, layer, xs, shapes, out_shape):
    inner = layer.layer
    shape = shapes[0]
    steps = shape[1]
    merged = g.reshape(xs[0], [-1, *shape[2:]])
    y = convert(g, inner, [merged], [(-1, *shape[2:])], (-1, *out_shape[2:]))
    return g.reshape(y, [-1, steps, *out_shape[2:]])


converts("SimpleRNN", "LSTM", "GRU", "RNN")(onnx_recurrent.recurrent)
converts("Bidirectional")(onnx_recurrent.bidirectional)
converts("_StateCall")(onnx_recurrent.state_call)
