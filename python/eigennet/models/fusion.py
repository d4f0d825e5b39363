"""Fusing keras.ops chains into one native node when the graph is built.

A custom layer written as `activation(ops.matmul(x, kernel) + bias)` records three ops; the
core runs them as one DenseOp (the Dense layer's fused product), so custom layers train as fast
as built-in ones. Only the graph handed to the core changes: the Keras-level graph (layers,
summary, configs) keeps the ops as written. A chain fuses when each intermediate result is
used once, the kernel is 2-D and the bias 1-D without batch axes, and the activation is one
the fused product computes exactly as the op does.
"""

from __future__ import annotations

from dataclasses import dataclass

# (native op, kind) -> the Dense activation computing the same function.
_ACTIVATIONS = {
    ("UnaryOp", "relu"): "relu",
    ("UnaryOp", "sigmoid"): "sigmoid",
    ("UnaryOp", "tanh"): "tanh",
    ("UnaryOp", "selu"): "selu",
    ("UnaryOp", "gelu"): "gelu",  # exact (erf) form; Keras's ops.gelu default is the tanh form
    ("UnaryOp", "softplus"): "softplus",
    ("UnaryOp", "silu"): "swish",
}


@dataclass
class FusedDense:
    """One fused chain: its operands, activation, how many of x's last axes meet the kernel's
    first ones (1 for a matmul) and the precision the product was recorded in."""

    x: object
    kernel: object
    bias: object | None
    activation: str
    contracted: int = 1
    precision: str = "float32"


def _spec(node) -> dict:
    return getattr(node.layer, "_spec", None) or {}


def _activation(node) -> str | None:
    spec = _spec(node)
    attributes = spec.get("attributes") or []
    if spec.get("native") == "UnaryOp":
        kind, alpha = attributes[0], attributes[1]
        if kind == "elu" and alpha == 1.0:
            return "elu"
        if kind == "leaky_relu" and alpha == 0.2:
            return "leaky_relu"
        return _ACTIVATIONS.get(("UnaryOp", kind))
    if spec.get("native") == "SoftmaxOp" and attributes[0] == "softmax":
        rank = len(node.inputs[0].shape)
        return "softmax" if attributes[1] == rank - 1 else None
    return None


def _fixed_source(t, rank: int) -> bool:
    node = t._node
    return (not node.inputs and getattr(node.layer, "_is_source", False) and not t.batched) and len(
        t.shape
    ) == rank


def _single_consumers(nodes: list, outputs: list):
    """A function giving the node that reads tensor t when exactly one does (and t is not
    returned), else None."""
    uses: dict[int, list] = {}
    for node in nodes:
        for t in node.inputs:
            uses.setdefault(id(t), []).append(node)
    returned = {id(t) for t in outputs}

    def single_consumer(t):
        consumers = uses.get(id(t), [])
        return consumers[0] if len(consumers) == 1 and id(t) not in returned else None

    return single_consumer


def _contracted_axes(node) -> int | None:
    """For an einsum that is a matmul of flattened axes, x's last k axes against the kernel's
    first k ("bld,dnh->blnh", "btnh,nhd->btd"): k. None for any other einsum."""
    equation = (_spec(node).get("attributes") or [""])[0]
    if not isinstance(equation, str) or "->" not in equation or "." in equation:
        return None
    operands, out = equation.split("->")
    parts = operands.split(",")
    if len(parts) != 2:
        return None
    a, b = parts
    contracted = [c for c in a if c in b and c not in out]
    k = len(contracted)
    if (
        k == 0
        or len(set(a + b)) != len(a) + len(b) - k
        or a[len(a) - k :] != b[:k]
        or out != a[: len(a) - k] + b[k:]
    ):
        return None
    return k


def dense_chains(nodes: list, outputs: list, einsums: bool = True) -> tuple[dict, set]:
    """The fusable chains among `nodes`: {id(last node): FusedDense} and the ids of the nodes
    the fused ones replace (to skip). With `einsums`, also einsums that are matmuls of
    flattened axes with their bias (MultiHeadAttention's projections: the bias added in the
    product's registers, no pass of its own)."""
    single_consumer = _single_consumers(nodes, outputs)
    fused, skipped = {}, set()
    for node in nodes:
        native = _spec(node).get("native")
        if len(node.inputs) != 2 or native not in ("MatMulOp", "EinsumOp"):
            continue
        contracted = 1 if native == "MatMulOp" else _contracted_axes(node) if einsums else None
        if contracted is None:
            continue
        x, kernel = node.inputs
        rank = 2 if native == "MatMulOp" else len(kernel.shape)
        if not x.batched or len(x.shape) <= contracted or not _fixed_source(kernel, rank):
            continue
        units = tuple(kernel.shape[contracted:])
        chain, bias, last = [node], None, node
        add = single_consumer(last.outputs[0])
        if add is not None and _spec(add).get("native") == "BinaryOp":
            kind = (_spec(add).get("attributes") or [None])[0]
            other = [t for t in add.inputs if t is not last.outputs[0]]
            if (
                kind == "add"
                and len(other) == 1
                and _fixed_source(other[0], len(units))
                and tuple(other[0].shape) == units
            ):
                bias, last = other[0], add
                chain.append(add)
        activation = "linear"
        consumer = single_consumer(last.outputs[0])
        if consumer is not None and _activation(consumer) is not None:
            activation, last = _activation(consumer), consumer
            chain.append(consumer)
        if len(chain) == 1:
            continue  # a lone matmul: nothing to fuse
        precision = _spec(node).get("product_precision", "float32")
        fused[id(last)] = FusedDense(x, kernel, bias, activation, contracted, precision)
        skipped.update(id(n) for n in chain[:-1])
    return fused, skipped


@dataclass
class FusedResidual:
    """A residual block's end, `activation(Dense(x) + residual)`, run as one product with
    the Dense layer's weights (Dense.with_residual in the core)."""

    dense: object  # the Dense layer's node
    residual: object  # the Add's other input
    activation: str


def _plain(node, cls) -> bool:
    layer = node.layer
    return (
        type(layer) is cls
        and getattr(node, "trace", None) is None
        and getattr(layer, "activity_regularizer", None) is None
    )


def _residual_activation(node) -> str | None:
    """The activation a ReLU or Activation layer node computes, when the fused product
    computes it exactly as the layer does."""
    from eigennet.layers.activation import Activation
    from eigennet.layers.activation_layers import ReLU

    layer = node.layer
    if _plain(node, ReLU):
        default = layer.max_value is None and layer.negative_slope == 0 and layer.threshold == 0
        return "relu" if default else None
    if _plain(node, Activation) and layer._activation_name != "softmax":
        return layer._activation_name
    return None


def residual_chains(nodes: list, outputs: list) -> tuple[dict, set]:
    """The chains Dense (linear) → Add (with a tensor of the same shape) → optional ReLU or
    Activation among `nodes`, each intermediate result used once: {id(last node):
    FusedResidual} and the ids of the nodes they replace (to skip). The Add and the
    activation then cost no pass of their own (W7: 4 % of a training step)."""
    from eigennet.layers.dense import Dense
    from eigennet.layers.merging import Add

    single_consumer = _single_consumers(nodes, outputs)
    fused, skipped, claimed = {}, set(), set()
    for node in nodes:
        if not (
            _plain(node, Dense)
            and node.layer.quantization_mode is None
            and node.layer._activation_name == "linear"
            and node.layer._activation_after is None
            and len(node.inputs) == 1
        ):
            continue
        out = node.outputs[0]
        add = single_consumer(out)
        if add is None or not _plain(add, Add) or len(add.inputs) != 2 or id(add) in claimed:
            continue  # (claimed: both inputs are Dense calls; the first one fuses)
        residual = add.inputs[1] if add.inputs[0] is out else add.inputs[0]
        if tuple(residual.shape) != tuple(out.shape) or residual.batched != out.batched:
            continue
        activation, last = "linear", add
        consumer = single_consumer(add.outputs[0])
        end = None if consumer is None else _residual_activation(consumer)
        if end is not None:
            activation, last = end, consumer
            skipped.add(id(add))
        fused[id(last)] = FusedResidual(node, residual, activation)
        skipped.add(id(node))
        claimed.add(id(add))
    return fused, skipped
