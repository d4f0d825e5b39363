"""ONNX converters of the graph's ops (traced `keras.ops` calls, the layers written with them)
and of its sources (weights and constants).

An op is converted from the spec it was recorded with (its native class and attributes, see
ops/symbolic.py) and its operands' concrete full shapes. Every tensor of the graph is a float
tensor (booleans are 0/1, integers whole floats), so comparisons are cast back to floats.
Random ops only exist on the training side of a traced call: their converters leave a
placeholder that the export refuses if an output depends on it (see OnnxGraph.unavailable).
"""

from __future__ import annotations

import math

import numpy as np

from eigennet.export import onnx_layers

_BIG = np.iinfo(np.int64).max


def source(g, owner) -> str:
    """A weight or a constant as an initializer."""
    spec = getattr(owner, "_spec", None)
    if spec is not None and spec.get("native") == "ConstantSource":
        return g.const(np.asarray(spec["values"]), "constant")
    if hasattr(owner, "variable"):  # a custom layer's add_weight
        return g.const(owner.variable.numpy(), owner.variable.name)
    if hasattr(owner, "_param_owner"):  # a built-in layer's weight read by ops
        weight = owner._param_owner.weights[owner._index]
        return g.const(weight.numpy(), weight.name.split("/")[-1])
    return unavailable(g, owner, "a source")


def unavailable(g, owner, what: str) -> str:
    """A name standing for a value the export cannot compute (fine while nothing reads it)."""
    name = g.fresh("unavailable")
    g.unavailable[name] = (owner, f"op {owner.name!r} ({what}) has no ONNX form in eigennet")
    return name


def convert(g, op, core, xs: list[str], shapes: list, out_shape) -> str:
    spec = op._spec
    shapes = [tuple(s) for s in shapes]
    if type(core).__name__.startswith("DenseOp"):  # a fused matmul + bias + activation
        return _fused_dense(g, op, xs)
    converter = _CONVERTERS.get(spec["native"])
    if converter is None:
        return unavailable(g, op, spec["native"])
    return converter(g, op, list(spec["attributes"]), xs, shapes, tuple(out_shape))


def _fused_dense(g, op, xs) -> str:
    y = g.node("MatMul", xs[:2])
    if len(xs) > 2:
        y = g.node("Add", [y, xs[2]])
    native = op._spec["native"]
    if native in ("UnaryOp", "SoftmaxOp"):  # the chain's last op is its activation
        rank = len(op._inbound_nodes[0].inputs[0].shape) if op._inbound_nodes else 2
        return _CONVERTERS[native](g, op, list(op._spec["attributes"]), [y], [(-1,) * rank], None)
    return y


_CONVERTERS: dict = {}


def converts(native: str):
    def register(fn):
        _CONVERTERS[native] = fn
        return fn

    return register


# -- element-wise --------------------------------------------------------------------------
_UNARY_SIMPLE = {
    "negative": "Neg", "abs": "Abs", "sqrt": "Sqrt", "reciprocal": "Reciprocal", "exp": "Exp",
    "log": "Log", "sin": "Sin", "cos": "Cos", "tan": "Tan", "tanh": "Tanh",
    "sigmoid": "Sigmoid", "relu": "Relu", "softplus": "Softplus", "softsign": "Softsign",
    "erf": "Erf", "sign": "Sign", "floor": "Floor", "ceil": "Ceil", "round": "Round",
    "arcsin": "Asin", "arccos": "Acos", "arctan": "Atan", "sinh": "Sinh", "cosh": "Cosh",
    "arcsinh": "Asinh", "arccosh": "Acosh", "arctanh": "Atanh", "identity": "Identity",
}  # fmt: skip


@converts("UnaryOp")
def _unary(g, op, attributes, xs, shapes, out_shape):
    kind, alpha, beta = attributes[0], float(attributes[1]), float(attributes[2])
    x = xs[0]
    if kind in _UNARY_SIMPLE:
        return g.node(_UNARY_SIMPLE[kind], [x])
    if kind in ("leaky_relu", "elu"):
        return onnx_layers.activation(g, kind, x, alpha)
    if kind in ("selu", "gelu", "silu"):
        return onnx_layers.activation(g, kind, x)
    if kind == "log1p":
        return g.node("Log", [g.node("Add", [x, g.const(1.0)])])
    if kind == "expm1":
        return g.node("Sub", [g.node("Exp", [x]), g.const(1.0)])
    if kind in ("log2", "log10"):
        return g.node("Div", [g.node("Log", [x]), g.const(math.log(2 if kind == "log2" else 10))])
    if kind == "exp2":
        return g.node("Pow", [g.const(2.0), x])
    if kind == "square":
        return g.node("Mul", [x, x])
    if kind == "rsqrt":
        return g.node("Reciprocal", [g.node("Sqrt", [x])])
    if kind == "gelu_tanh":  # x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))) / 2
        cube = g.node("Mul", [g.node("Mul", [x, x]), x])
        inner = g.node("Add", [x, g.node("Mul", [cube, g.const(0.044715)])])
        t = g.node("Tanh", [g.node("Mul", [inner, g.const(math.sqrt(2 / math.pi))])])
        return g.node("Mul", [g.node("Mul", [x, g.const(0.5)]), g.node("Add", [t, g.const(1.0)])])
    if kind == "hard_sigmoid":  # relu6(x + 3) / 6
        return g.node("HardSigmoid", [x], alpha=1 / 6, beta=0.5)
    if kind == "hard_silu":
        return g.node("Mul", [x, g.node("HardSigmoid", [x], alpha=1 / 6, beta=0.5)])
    if kind == "log_sigmoid":
        return g.node("Neg", [g.node("Softplus", [g.node("Neg", [x])])])
    if kind == "relu6":
        return g.node("Clip", [x, g.const(0.0), g.const(6.0)])
    if kind == "clip":
        return g.node("Clip", [x, g.const(alpha), g.const(beta)])
    if kind == "power_scalar":
        return g.node("Pow", [x, g.const(alpha)])
    if kind == "trunc":
        return g.node("Mul", [g.node("Sign", [x]), g.node("Floor", [g.node("Abs", [x])])])
    if kind == "logical_not":
        return g.to_float(g.node("Not", [_bool(g, x)]))
    if kind == "isnan":
        return g.to_float(g.node("IsNaN", [x]))
    if kind == "isfinite":
        bad = g.node("Or", [g.node("IsNaN", [x]), g.node("IsInf", [x])])
        return g.to_float(g.node("Not", [bad]))
    return unavailable(g, op, f"unary {kind!r}")


def _bool(g, x: str) -> str:
    return g.node("Cast", [x], to=g.onnx.TensorProto.BOOL)


_BINARY_SIMPLE = {
    "add": "Add", "subtract": "Sub", "multiply": "Mul", "divide": "Div", "power": "Pow",
    "maximum": "Max", "minimum": "Min",
}  # fmt: skip
_COMPARISONS = {
    "equal": "Equal", "less": "Less", "less_equal": "LessOrEqual", "greater": "Greater",
    "greater_equal": "GreaterOrEqual",
}  # fmt: skip
_LOGICAL = {"logical_and": "And", "logical_or": "Or", "logical_xor": "Xor"}


@converts("BinaryOp")
def _binary(g, op, attributes, xs, shapes, out_shape):
    kind = attributes[0]
    a, b = xs
    if kind in _BINARY_SIMPLE:
        return g.node(_BINARY_SIMPLE[kind], [a, b])
    if kind in _COMPARISONS:
        return g.to_float(g.node(_COMPARISONS[kind], [a, b]))
    if kind == "not_equal":
        return g.to_float(g.node("Not", [g.node("Equal", [a, b])]))
    if kind in _LOGICAL:
        return g.to_float(g.node(_LOGICAL[kind], [_bool(g, a), _bool(g, b)]))
    if kind == "floor_divide":
        return g.node("Floor", [g.node("Div", [a, b])])
    if kind == "mod":  # Python's: a - floor(a / b) * b
        return g.node("Sub", [a, g.node("Mul", [g.node("Floor", [g.node("Div", [a, b])]), b])])
    return unavailable(g, op, f"binary {kind!r}")


@converts("WhereOp")
def _where(g, op, attributes, xs, shapes, out_shape):
    return g.node("Where", [_bool(g, xs[0]), xs[1], xs[2]])


# -- reductions ----------------------------------------------------------------------------
_REDUCE_SIMPLE = {
    "sum": "ReduceSum", "mean": "ReduceMean", "max": "ReduceMax", "min": "ReduceMin",
    "prod": "ReduceProd", "logsumexp": "ReduceLogSumExp", "norm": "ReduceL2",
}  # fmt: skip


@converts("ReduceOp")
def _reduce(g, op, attributes, xs, shapes, out_shape):
    kind, axes, keep = attributes[0], list(attributes[1]), int(bool(attributes[2]))
    axes = axes or list(range(len(shapes[0])))
    x, axes_name = xs[0], g.ints(axes)
    if kind in _REDUCE_SIMPLE:
        return g.node(_REDUCE_SIMPLE[kind], [x, axes_name], keepdims=keep)
    if kind in ("var", "std"):
        centered = g.node("Sub", [x, g.node("ReduceMean", [x, axes_name], keepdims=1)])
        var = g.node("ReduceMean", [g.node("Mul", [centered, centered]), axes_name], keepdims=keep)
        return var if kind == "var" else g.node("Sqrt", [var])
    if kind in ("all", "any"):
        nonzero = g.to_float(_bool(g, x))
        reduce = "ReduceMin" if kind == "all" else "ReduceMax"
        return g.node(reduce, [nonzero, axes_name], keepdims=keep)
    if kind in ("argmax", "argmin"):
        index = g.node("ArgMax" if kind == "argmax" else "ArgMin", [x], axis=axes[0], keepdims=keep)
        return g.to_float(index)
    return unavailable(g, op, f"reduction {kind!r}")


@converts("SoftmaxOp")
def _softmax(g, op, attributes, xs, shapes, out_shape):
    kind, axis = attributes[0], int(attributes[1])
    return g.node("Softmax" if kind == "softmax" else "LogSoftmax", [xs[0]], axis=axis)


@converts("CumulativeOp")
def _cumulative(g, op, attributes, xs, shapes, out_shape):
    if attributes[0] != "cumsum":
        return unavailable(g, op, attributes[0])
    axis = g.node("Constant", [], value=g.onnx.helper.make_tensor("axis", 7, [], [attributes[1]]))
    return g.node("CumSum", [xs[0], axis])


# -- products ------------------------------------------------------------------------------
@converts("MatMulOp")
def _matmul(g, op, attributes, xs, shapes, out_shape):
    return g.node("MatMul", xs)


@converts("EinsumOp")
def _einsum(g, op, attributes, xs, shapes, out_shape):
    return g.node("Einsum", xs, equation=str(attributes[0]).replace(" ", ""))


@converts("DotProductAttentionOp")
def _attention(g, op, attributes, xs, shapes, out_shape):
    """softmax(q k^T * scale) v per head, over the keys each query may see; a query that may
    see none gives zeros (as the native op and Keras's masked softmax)."""
    scale, causal, flags = attributes[0], bool(attributes[1]), attributes[2:5]
    q, k, v = xs[:3]
    t, s, depth = shapes[0][1], shapes[1][1], shapes[0][-1]
    scale = 1 / math.sqrt(depth) if scale is None else float(scale)
    q = g.transpose(q, [0, 2, 1, 3])  # (B, N, T, H)
    k = g.transpose(k, [0, 2, 3, 1])  # (B, N, H, S)
    logits = g.node("Mul", [g.node("MatMul", [q, k]), g.const(scale)])  # (B, N, T, S)
    keep = []
    if causal:
        keep.append(g.const(np.tril(np.ones((t, s)))))
    masks = iter(xs[3:])
    if flags[0]:  # query mask (B, T)
        keep.append(g.node("Unsqueeze", [_greater_half(g, next(masks)), g.ints([1, 3])]))
    if flags[1]:  # key mask (B, S)
        keep.append(g.node("Unsqueeze", [_greater_half(g, next(masks)), g.ints([1, 2])]))
    if flags[2]:  # mask (B, T, S)
        keep.append(g.node("Unsqueeze", [_greater_half(g, next(masks)), g.ints([1])]))
    if keep:
        allowed = keep[0]
        for m in keep[1:]:
            allowed = g.node("Mul", [allowed, m])
        penalty = g.node("Mul", [g.node("Sub", [allowed, g.const(1.0)]), g.const(1e30)])
        logits = g.node("Add", [logits, penalty])
    weights = g.node("Softmax", [logits], axis=-1)
    if keep:
        any_key = g.node("ReduceMax", [allowed, g.ints([-1])], keepdims=1)
        weights = g.node("Mul", [weights, any_key])
    attended = g.node("MatMul", [weights, g.transpose(v, [0, 2, 1, 3])])  # (B, N, T, Hv)
    return g.transpose(attended, [0, 2, 1, 3])


def _greater_half(g, mask: str) -> str:
    return g.to_float(g.node("Greater", [mask, g.const(0.5)]))


# -- shapes and indexing -------------------------------------------------------------------
@converts("ReshapeOp")
def _reshape(g, op, attributes, xs, shapes, out_shape):
    return g.reshape(xs[0], out_shape)


@converts("TransposeOp")
def _transpose(g, op, attributes, xs, shapes, out_shape):
    return g.transpose(xs[0], attributes[0])


@converts("ConcatenateOp")
def _concatenate(g, op, attributes, xs, shapes, out_shape):
    return g.node("Concat", xs, axis=int(attributes[0]))


@converts("SliceOp")
def _slice(g, op, attributes, xs, shapes, out_shape):
    starts, stops, steps = (list(a) for a in attributes[:3])
    stops = [_BIG if s < 0 or s >= 2**31 - 1 else s for s in stops]
    axes = range(len(starts))
    return g.node("Slice", [xs[0], g.ints(starts), g.ints(stops), g.ints(axes), g.ints(steps)])


@converts("PadOp")
def _pad(g, op, attributes, xs, shapes, out_shape):
    widths, value = attributes[0], float(attributes[1])
    pads = [int(w[0]) for w in widths] + [int(w[1]) for w in widths]
    return g.node("Pad", [xs[0], g.ints(pads), g.const(value)])


@converts("RepeatOp")
def _repeat(g, op, attributes, xs, shapes, out_shape):
    repeats, axis = int(attributes[0]), int(attributes[1])
    rank = len(shapes[0])
    expanded = g.node("Unsqueeze", [xs[0], g.ints([axis + 1])])
    tiled = g.node(
        "Tile", [expanded, g.ints([repeats if i == axis + 1 else 1 for i in range(rank + 1)])]
    )
    return g.reshape(tiled, out_shape)


@converts("TileOp")
def _tile(g, op, attributes, xs, shapes, out_shape):
    reps, x, rank = [int(r) for r in attributes[0]], xs[0], len(shapes[0])
    if len(reps) > rank:  # NumPy adds leading axes
        x = g.reshape(x, [1] * (len(reps) - rank) + list(shapes[0]))
    reps = [1] * (max(rank, len(reps)) - len(reps)) + reps
    return g.node("Tile", [x, g.ints(reps)])


@converts("BroadcastToOp")
def _broadcast_to(g, op, attributes, xs, shapes, out_shape):
    return g.node("Expand", [xs[0], g.ints([1 if d < 0 else d for d in out_shape])])


@converts("TakeOp")
def _take(g, op, attributes, xs, shapes, out_shape):
    ids = g.node("Cast", [xs[1]], to=g.onnx.TensorProto.INT64)
    return g.node("Gather", [xs[0], ids], axis=int(attributes[0]))


@converts("TakeAlongAxisOp")
def _take_along_axis(g, op, attributes, xs, shapes, out_shape):
    if len(shapes[0]) != len(shapes[1]) or any(
        a != b for k, (a, b) in enumerate(zip(shapes[0], shapes[1])) if k != attributes[0]
    ):
        return unavailable(g, op, "take_along_axis with broadcast indices")
    ids = g.node("Cast", [xs[1]], to=g.onnx.TensorProto.INT64)
    return g.node("GatherElements", [xs[0], ids], axis=int(attributes[0]))


@converts("SliceUpdateOp")
def _slice_update(g, op, attributes, xs, shapes, out_shape):
    """The update padded to the input's shape, chosen where the region is (a fixed mask)."""
    start = [int(s) for s in attributes[0]]
    x_shape, u_shape = shapes
    batched = x_shape[0] < 0
    before = start
    after = [0 if n < 0 else n - s - u for n, s, u in zip(x_shape, start, u_shape)]
    placed = g.node("Pad", [xs[1], g.ints(before + after)])
    region = np.zeros([1 if batched else x_shape[0], *x_shape[1:]], dtype=bool)
    region[tuple(slice(s, s + u) if u >= 0 else slice(None) for s, u in zip(start, u_shape))] = True
    mask = g.onnx.numpy_helper.from_array(region, g.fresh("region"))
    g.initializers.append(mask)
    return g.node("Where", [mask.name, placed, xs[0]])


@converts("OneHotOp")
def _one_hot(g, op, attributes, xs, shapes, out_shape):
    classes = np.arange(int(attributes[0]))
    expanded = g.node("Unsqueeze", [xs[0], g.ints([-1])])
    return g.to_float(g.node("Equal", [expanded, g.const(classes, "classes")]))


# -- modes and randomness ------------------------------------------------------------------
@converts("ModeSelectOp")
def _mode_select(g, op, attributes, xs, shapes, out_shape):
    return g.node("Identity", [xs[1]])  # the inference trace's tensor


@converts("DropoutOp")
def _dropout(g, op, attributes, xs, shapes, out_shape):
    return g.node("Identity", [xs[0]])  # the identity in inference


# -- windows -------------------------------------------------------------------------------
@converts("ConvOp")
def _conv(g, op, attributes, xs, shapes, out_shape):
    strides, padding, dilation = list(attributes[0]), str(attributes[1]), list(attributes[2])
    x_shape, k_shape = shapes
    n = len(x_shape) - 2
    kernel = g.transpose(xs[1], [n + 1, n, *range(n)])
    groups = x_shape[-1] // k_shape[n]
    return _windowed(
        g, xs[0], kernel, x_shape, list(k_shape[:n]), strides, padding, dilation, groups
    )


@converts("DepthwiseConvOp")
def _depthwise_conv(g, op, attributes, xs, shapes, out_shape):
    strides, padding, dilation = list(attributes[0]), str(attributes[1]), list(attributes[2])
    x_shape, k_shape = shapes
    n = len(x_shape) - 2
    channels, multiplier = k_shape[n], k_shape[n + 1]
    kernel = g.transpose(xs[1], [n, n + 1, *range(n)])  # (in, mult, *k)
    kernel = g.reshape(kernel, [channels * multiplier, 1, *k_shape[:n]])
    return _windowed(
        g, xs[0], kernel, x_shape, list(k_shape[:n]), strides, padding, dilation, channels
    )


def _windowed(g, x, kernel, x_shape, k, strides, padding, dilation, groups) -> str:
    rank = len(x_shape)
    pads = onnx_layers.conv_pads(padding.lower(), x_shape[1:-1], k, strides, dilation)
    y = g.node(
        "Conv", [onnx_layers.channels_first(g, x, rank), kernel], kernel_shape=k,
        strides=strides, dilations=dilation, pads=pads, group=int(groups),
    )  # fmt: skip
    return onnx_layers.channels_last(g, y, rank)


@converts("PoolOp")
def _pool(g, op, attributes, xs, shapes, out_shape):
    mode, sizes, strides, padding = (
        attributes[0],
        list(attributes[1]),
        list(attributes[2]),
        attributes[3],
    )
    op_type = "MaxPool" if mode == "max" else "AveragePool"
    return onnx_layers.pool(g, xs[0], shapes[0], op_type, sizes, strides, str(padding))
