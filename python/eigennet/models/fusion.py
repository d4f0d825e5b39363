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
    """One fused chain: its operands, activation and the node whose output it replaces."""

    x: object
    kernel: object
    bias: object | None
    activation: str


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


def dense_chains(nodes: list, outputs: list) -> tuple[dict, set]:
    """The fusable chains among `nodes`: {id(last node): FusedDense} and the ids of the nodes
    the fused ones replace (to skip)."""
    uses: dict[int, list] = {}
    for node in nodes:
        for t in node.inputs:
            uses.setdefault(id(t), []).append(node)
    returned = {id(t) for t in outputs}

    def single_consumer(t):
        consumers = uses.get(id(t), [])
        return consumers[0] if len(consumers) == 1 and id(t) not in returned else None

    fused, skipped = {}, set()
    for node in nodes:
        if _spec(node).get("native") != "MatMulOp" or len(node.inputs) != 2:
            continue
        x, kernel = node.inputs
        if not x.batched or len(x.shape) < 2 or not _fixed_source(kernel, 2):
            continue
        chain, bias, last = [node], None, node
        add = single_consumer(last.outputs[0])
        if add is not None and _spec(add).get("native") == "BinaryOp":
            kind = (_spec(add).get("attributes") or [None])[0]
            other = [t for t in add.inputs if t is not last.outputs[0]]
            if (
                kind == "add"
                and len(other) == 1
                and _fixed_source(other[0], 1)
                and other[0].shape[0] == kernel.shape[1]
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
        fused[id(last)] = FusedDense(x, kernel, bias, activation)
        skipped.update(id(n) for n in chain[:-1])
    return fused, skipped
