"""Tracing a subclassed layer's `call()` into the native graph.

A custom layer called on symbolic tensors runs its Python `call()` once, on placeholder
tensors standing for its inputs: the sublayer calls and `keras.ops` it makes record nodes,
its `add_weight` weights are source nodes (`WeightSource`). The layer's own node in the
caller's graph keeps that trace; a model's graph builder expands it in place, so the native
core only ever sees built-in layers, ops and sources, and Python never runs per batch.
"""

from __future__ import annotations

import numpy as np

from eigennet import _core
from eigennet.layers.keras_tensor import KerasTensor, Node, flatten


class WeightSource:
    """The native node holding one weight made by `Layer.add_weight`; `variable` is the
    user's handle to it. Its name and trainability are its layer's."""

    _is_source = True

    def __init__(self, owner, name: str, shape: tuple, dtype: str, trainable: bool):
        from eigennet.layers.layer import Variable

        self._owner = owner
        self._core = getattr(_core, f"VariableSource_{dtype}")(list(shape), name, trainable)
        self._params = self._core.params()
        self._dtype = dtype
        self._inbound_nodes: list[Node] = []
        self.variable = Variable(
            self, name, shape, 0, int(np.prod(shape, dtype=np.int64)), trainable
        )
        self._tensor = None

    @property
    def name(self) -> str:
        return self._owner.name

    @property
    def trainable(self) -> bool:
        return self._owner.trainable

    @property
    def dtype(self) -> str:
        return self._dtype

    @property
    def built(self) -> bool:
        return True

    @property
    def weights(self) -> list:
        return [self.variable]

    @property
    def trainable_weights(self) -> list:
        return [self.variable] if self.variable.trainable else []

    @property
    def non_trainable_weights(self) -> list:
        return [] if self.variable.trainable else [self.variable]

    def count_params(self) -> int:
        return int(self._params.size)

    def _check_input(self, x, what: str) -> None:
        """A weight reads no model input."""

    def _extra_state(self) -> dict:
        return {}

    def tensor(self) -> KerasTensor:
        """The weight as a symbolic operand (one source node, however often it is used)."""
        if self._tensor is None:
            node = Node(self, [])
            self._tensor = KerasTensor(
                self.variable.shape, self._dtype, node, name=self.variable.path, batched=False
            )
            node.outputs = [self._tensor]
        return self._tensor


class _Placeholder:
    """The owner of a traced call's input placeholders (never a node of a graph)."""

    name = "placeholder"


class Trace:
    """One traced call: placeholders for the inputs, the symbolic outputs, the nodes between
    them (in an order where inputs come first), and the output structure."""

    def __init__(self, placeholders: list, outputs: list, structure, losses: list):
        from eigennet.models.graph_builder import nodes_between

        self.placeholders = placeholders
        self.outputs = outputs
        self.structure = structure
        self.losses = losses  # scalars added to the training loss (add_loss)
        self.nodes = nodes_between(placeholders, outputs + losses)


def trace_call(layer, args: tuple, kwargs: dict):
    """Runs `layer.call` on placeholders for the symbolic tensors in `args`/`kwargs`; returns
    (the symbolic tensors found, the Trace)."""
    from eigennet.ops import symbolic

    leaves = [t for t in flatten([list(args), kwargs]) if isinstance(t, KerasTensor)]
    unique = list({id(t): t for t in leaves}.values())
    placeholders = {}
    for t in unique:
        node = Node(_Placeholder(), [])
        placeholders[id(t)] = KerasTensor(t.shape, t.dtype, node, name=t.name, batched=t.batched)
        node.outputs = [placeholders[id(t)]]

    def swap(value):
        if isinstance(value, KerasTensor):
            return placeholders[id(value)]
        if isinstance(value, (list, tuple)):
            return type(value)(swap(v) for v in value)
        if isinstance(value, dict):
            return {k: swap(v) for k, v in value.items()}
        return value

    inputs = list(placeholders.values())
    with symbolic.tracing(layer.name, inputs), symbolic.collecting_losses() as losses:
        result = layer.call(*swap(args), **swap(kwargs))
    outputs = flatten(result)
    if not outputs:
        raise ValueError(f"Layer {layer.name!r}: call() returned nothing")
    dtype = layer.dtype
    outputs = [symbolic.operand(o, dtype) for o in outputs]
    trace = Trace([placeholders[id(t)] for t in unique], outputs, result, losses)
    return unique, trace


def rebuild_structure(structure, outputs: list):
    """`structure` (what call() returned) with its tensors replaced by `outputs`, in order."""
    it = iter(outputs)

    def rebuild(value):
        if isinstance(value, dict):
            rebuilt = {k: rebuild(value[k]) for k in sorted(value)}  # flatten's order
            return {k: rebuilt[k] for k in value}
        if isinstance(value, (list, tuple)):
            return type(value)(rebuild(v) for v in value)
        return next(it)

    return rebuild(structure)
