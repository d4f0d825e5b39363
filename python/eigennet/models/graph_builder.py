"""Turns a model's structure into the native core's graph of layer calls.

Every model expands itself into a builder: a Sequential as a chain, a functional model node by
node; a model used as a layer of another expands in place, so the core only ever sees leaf
layers. The same expansion lists each leaf layer's place with whether it trains there, which
the trainer needs in the same order as the core's nodes.
"""

from __future__ import annotations

import contextlib
import itertools

from eigennet import _core
from eigennet.layers import variable_axes
from eigennet.layers.keras_tensor import KerasTensor, Node
from eigennet.models.fusion import dense_chains, residual_chains


class GraphBuilder:
    """Collects (native layer, input tensor ids) nodes; tensors 0..len(input_shapes)-1 are
    inputs. It tracks every tensor's concrete shape, so that a layer called on another
    length of a variable axis gets its copy for that length (see variable_axes)."""

    # Whether chains that the ONNX export writes layer by layer run as one native node: a
    # residual block's end (Dense → Add → activation) and an einsum with its bias.
    native_fusions = True

    def __init__(self, input_shapes: list[tuple]):
        # None for a model not built yet: then only its places are listed. A variable axis
        # (None) is taken at its first probe length.
        first = variable_axes.PROBES[0]
        self.input_shapes = [
            None if s is None else variable_axes.at_length(s[1:], first) for s in input_shapes
        ]
        # Full shapes (batch axis -1) of every tensor, or None where unknown.
        self.shapes: list = [None if s is None else (-1, *s) for s in self.input_shapes]
        self.nodes: list[tuple] = []  # (core layer, input ids)
        self.places: list[tuple] = []  # (layer, trains), one per node
        self.modes: list[int] = []  # per node: -1 follows the graph, 0/1 Keras's training=
        self._forced = [-1]  # the mode of the calls being expanded (innermost last)

        self._sources: dict[int, int] = {}  # id(source node) -> its tensor (once per graph)
        self.loss_terms: list[int] = []  # tensors added to the loss (custom layers' add_loss)

    @property
    def tensor_count(self) -> int:
        return len(self.shapes)

    def add(self, layer, inputs: list[int], trains: bool) -> int:
        """Adds a call of leaf `layer` on tensors `inputs`; returns its output tensor id."""
        shapes = [self.shapes[i] for i in inputs]
        if any(s is None for s in shapes):  # shapes unknown: only the places matter
            core, out = layer._core, None
        elif hasattr(layer, "core_for"):  # an op: full shapes
            core = layer.core_for(shapes)
            out = tuple(core.full_output_shape)
        else:  # a layer: one sample per row (the rows of a batchless input are its first axis)
            core = layer._core_for([s[1:] for s in shapes])
            out = (shapes[0][0], *core.output_shape)
        return self._append(core, inputs, layer, trains, out)

    @contextlib.contextmanager
    def mode(self, training):
        """While a call given training=True/False is expanded: the mode of its nodes (an
        inner call's own training= wins, as in Keras)."""
        self._forced.append(self._forced[-1] if training is None else int(bool(training)))
        try:
            yield
        finally:
            self._forced.pop()

    def _append(self, core, inputs: list[int], owner, trains: bool, shape) -> int:
        self.modes.append(self._forced[-1])
        self.nodes.append((core, list(inputs)))
        self.places.append((owner, trains))
        self.shapes.append(shape)
        return len(self.shapes) - 1

    def source(self, node, trains: bool) -> int:
        """The tensor of a source node (a weight or a constant), added on first use."""
        if id(node) not in self._sources:
            layer, (t,) = node.layer, node.outputs
            shape = (-1, *t.shape[1:]) if t.batched else tuple(t.shape)
            trains = trains and layer.trainable
            self._sources[id(node)] = self._append(layer._core, [], layer, trains, shape)
        return self._sources[id(node)]

    def output_shapes(self, outputs: list[int]) -> list[tuple]:
        """The shapes of tensors `outputs`, the batch axis None."""
        return [(None, *self.shapes[i][1:]) for i in outputs]

    def native_graph(self, dtype: str, outputs: list[int]):
        graph = getattr(_core, f"Graph_{dtype}")
        return graph(
            [list(s) for s in self.input_shapes],
            self.nodes,
            list(outputs),
            loss_terms=self.loss_terms,
            modes=self.modes,
        )


def with_a_node(builder: GraphBuilder, outputs: list[int], dtype: str | None) -> list[int]:
    """`outputs`, with an identity node in front of the first when the model computes
    nothing (its layers all return their input, e.g. CenterCrop at the input's own size):
    the core's graph needs at least one node."""
    if builder.nodes:
        return outputs
    from eigennet.layers.activation_layers import Identity

    identity = Identity(name="identity", dtype=dtype)  # named: takes no automatic name
    shape = builder.shapes[outputs[0]]
    if shape is not None:
        identity.build((None, *shape[1:]))
    return [builder.add(identity, [outputs[0]], False), *outputs[1:]]


def expand_call(
    layer, builder: GraphBuilder, inputs: list[int], trains: bool, node=None
) -> list[int]:
    """Adds one call of `layer` (a leaf layer, a traced custom layer or a model) to the
    builder; returns its output tensor ids. `node` is the call, when it has one."""
    with builder.mode(None if node is None else node.training):
        return _expand_call(layer, builder, inputs, trains, node)


def _expand_call(layer, builder: GraphBuilder, inputs: list[int], trains: bool, node) -> list[int]:
    trains = trains and layer.trainable
    traced_node = node is not None and getattr(node, "trace", None) is not None
    if getattr(layer, "_traced", False) or traced_node:  # a traced call, in place
        trace = node.trace if node is not None else layer._standalone_trace
        ids = expand_nodes(
            trace.placeholders, trace.nodes, trace.outputs + trace.losses, builder, inputs, trains
        )
        builder.loss_terms.extend(ids[len(trace.outputs) :])
        return ids[: len(trace.outputs)]
    if hasattr(layer, "_expand"):  # a model inside a model
        return layer._expand(builder, inputs, trains)
    output = builder.add(layer, inputs, trains)
    after = getattr(layer, "_activation_after", None)  # Dense(activation="mish"): traced
    return [output if after is None else after.expand(builder, output, trains)]


def _add_fused(builder: GraphBuilder, chain, ids: dict, node, trains: bool) -> int:
    """Adds a fused chain's DenseOp; its owner is the chain's last op (for the places)."""
    op = node.layer
    operands = [chain.x, chain.kernel] + ([chain.bias] if chain.bias is not None else [])
    inputs = [ids[id(t)] for t in operands]
    shapes = [list(builder.shapes[i]) for i in inputs]
    core = getattr(_core, f"DenseOp_{op.dtype}")(
        shapes[0],
        shapes[1],
        shapes[2] if chain.bias is not None else None,
        chain.activation,
        chain.contracted,
    )
    core.product_precision = chain.precision  # as recorded (mixed_bfloat16: bf16 products)
    return builder._append(core, inputs, op, trains, tuple(core.full_output_shape))


def _add_residual(builder: GraphBuilder, chain, ids: dict, trains: bool) -> int:
    """Adds a fused residual block's end: the Dense layer's call with the residual as a second
    input (its place is the Dense layer's: the Add and the activation have no weights)."""
    node = chain.dense
    dense = node.layer
    inputs = [ids[id(node.inputs[0])], ids[id(chain.residual)]]
    shape = builder.shapes[inputs[0]]
    with builder.mode(node.training):
        if shape is None:  # shapes unknown: only the places matter
            return builder._append(dense._core, inputs, dense, trains and dense.trainable, None)
        core = dense._core_for([shape[1:]]).with_residual(chain.activation)
        out = (shape[0], *core.output_shape)
        return builder._append(core, inputs, dense, trains and dense.trainable, out)


def expand_nodes(
    sources: list,
    nodes: list,
    outputs: list,
    builder: GraphBuilder,
    inputs: list[int],
    trains: bool,
) -> list[int]:
    """Adds `nodes` (a functional model's, or a traced call's), the symbolic tensors `sources`
    being tensors `inputs`; returns the tensor ids of `outputs`."""
    ids = {id(t): i for t, i in zip(sources, inputs)}
    fused, skipped = dense_chains(nodes, outputs, einsums=builder.native_fusions)
    residuals, replaced = residual_chains(nodes, outputs) if builder.native_fusions else ({}, ())
    for node in nodes:
        if id(node) in skipped or id(node) in replaced:
            continue  # part of a fused chain, computed by its last node
        if not node.inputs:  # a weight or a constant
            outs = [builder.source(node, trains)]
        elif id(node) in fused:
            outs = [_add_fused(builder, fused[id(node)], ids, node, trains)]
        elif id(node) in residuals:
            outs = [_add_residual(builder, residuals[id(node)], ids, trains)]
        else:
            args = [ids[id(t)] for t in node.inputs]
            outs = expand_call(node.layer, builder, args, trains, node)
        for t, i in zip(node.outputs, outs):
            ids[id(t)] = i
    return [ids[id(t)] for t in outputs]


def nodes_between(inputs: list[KerasTensor], outputs: list[KerasTensor]) -> list[Node]:
    """The nodes computing `outputs` from `inputs`, in an order where every node comes after
    the nodes of its inputs (by depth from the inputs, then in the order they were made)."""
    known = {id(t) for t in inputs}
    order: dict[int, Node] = {}
    depth: dict[int, int] = {}
    visiting: set[int] = set()

    def visit(t: KerasTensor, consumer: str) -> int:
        if id(t) in known:
            return 0
        node = t._node
        if not node.inputs and not getattr(node.layer, "_is_source", False):  # an input
            raise ValueError(
                f"Graph disconnected: cannot find the value of tensor {t.name!r} (input "
                f"{node.layer.name!r}) needed by {consumer}; it is not among the inputs "
                f"{[i.name for i in inputs]}"
            )
        if id(node) in depth:
            return depth[id(node)]
        if id(node) in visiting:
            raise ValueError("The layer calls form a cycle")
        visiting.add(id(node))
        d = 1 + max((visit(i, f"layer {node.layer.name!r}") for i in node.inputs), default=0)
        visiting.discard(id(node))
        depth[id(node)] = d
        order[id(node)] = node
        return d

    for t in outputs:
        visit(t, "the model's outputs")
    counter = itertools.count()
    sequence = {key: next(counter) for key in order}  # post-order: inputs before consumers
    return sorted(order.values(), key=lambda n: (depth[id(n)], sequence[id(n)]))
