"""Tracing a subclassed layer's `call()` into the native graph.

A custom layer called on symbolic tensors runs its Python `call()` once, on placeholder
tensors standing for its inputs: the sublayer calls and `keras.ops` it makes record nodes,
its `add_weight` weights are source nodes (`WeightSource`). The layer's own node in the
caller's graph keeps that trace; a model's graph builder expands it in place, so the native
core only ever sees built-in layers, ops and sources, and Python never runs per batch.
"""

from __future__ import annotations

import inspect

import numpy as np

from eigennet import _core, storage_formats
from eigennet.layers.keras_tensor import KerasTensor, Node
from eigennet.tree import flatten


class WeightSource:
    """The native node holding one weight made by `Layer.add_weight`; `variable` is the
    user's handle to it. Its name and trainability are its layer's."""

    _is_source = True

    def __init__(
        self,
        owner,
        name: str,
        shape: tuple,
        dtype: str,
        trainable: bool,
        integer: str | None = None,
        variable=None,
    ):
        from eigennet.layers.layer import Variable

        self._owner = owner
        # An integer weight (int8 of a quantized kernel, a counter, an index table): whole
        # numbers held in the float dtype, reported and read back as `integer`.
        self._integer = integer
        # A 16-bit float weight (add_weight(dtype="bfloat16")) lives in a float32 core,
        # rounded to its format (see eigennet.storage_formats).
        self._storage_format = None if integer else storage_formats.storage_format(dtype)
        dtype = storage_formats.native_dtype(dtype)
        self._core = getattr(_core, f"VariableSource_{dtype}")(list(shape), name, trainable)
        self._core.storage_precision = self._storage_format or "float32"
        self._params = self._core.params()
        self._dtype = dtype
        self._inbound_nodes: list[Node] = []
        size = int(np.prod(shape, dtype=np.int64))
        self.variable = Variable._at(self, name, shape, 0, size, trainable, variable)
        self._tensor = None
        self.regularizer = None  # add_weight's, for Layer.losses (the core applies it in fit)
        self.constraint = None  # add_weight's (the core applies it after each step)

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

    def _weight_dtypes(self) -> dict[str, str]:
        return {self.variable.name: self._integer} if self._integer else {}

    def _weight_constraints(self) -> list:
        return [self.constraint]

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


class WeightView:
    """A built-in layer's weight read by ops inside a traced call(): a source node sharing the
    layer's parameter block (its gradient joins the layer's). Its weights are the layer's."""

    _is_source = True

    def __init__(self, layer, index: int):
        self._param_owner = layer  # whose weights these are (model weights list them once)
        self._core = getattr(_core, f"WeightView_{layer._native_dtype}")(layer._core, index)
        self._index = index
        self._inbound_nodes: list[Node] = []
        self._tensor = None

    @classmethod
    def of(cls, layer, index: int):
        """The view of weight `index` of `layer` (one per weight, so one node per graph)."""
        views = layer.__dict__.setdefault("_weight_views", {})
        if index not in views:
            views[index] = cls(layer, index)
        return views[index]

    @property
    def name(self) -> str:
        return self._param_owner.name

    @property
    def trainable(self) -> bool:
        return self._param_owner.trainable

    @property
    def dtype(self) -> str:
        return self._param_owner.dtype

    @property
    def trainable_weights(self) -> list:
        return self._param_owner.trainable_weights

    weights: list = []  # (listed by the layer itself)

    def count_params(self) -> int:
        return 0

    def _check_input(self, x, what: str) -> None:
        """A weight reads no model input."""

    def tensor(self) -> KerasTensor:
        if self._tensor is None:
            variable = self._param_owner.weights[self._index]
            node = Node(self, [])
            self._tensor = KerasTensor(
                variable.shape,
                self._param_owner._native_dtype,
                node,
                name=variable.path,
                batched=False,
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


def trace_call(layer, args: tuple, kwargs: dict, call=None):
    """Runs `call` (default `layer.call`) on placeholders for the symbolic tensors in
    `args`/`kwargs`; returns (the symbolic tensors found, the Trace). The Keras masks of those
    tensors come last among them (`Trace.mask_count`): inside the trace their placeholders
    carry them, and a call() with a `mask` argument gets the first argument's, as in Keras."""
    from eigennet.ops import symbolic

    call = layer.call if call is None else call
    leaves = [t for t in flatten([list(args), kwargs]) if isinstance(t, KerasTensor)]
    unique = list({id(t): t for t in leaves}.values())
    known = {id(t) for t in unique}
    masks = [t._keras_mask for t in unique if t._keras_mask is not None]
    implicit = list({id(m): m for m in masks if id(m) not in known}.values())
    unique += implicit
    placeholders = {}
    for t in unique:
        node = Node(_Placeholder(), [])
        placeholders[id(t)] = KerasTensor(t.shape, t.dtype, node, name=t.name, batched=t.batched)
        node.outputs = [placeholders[id(t)]]
    for t in unique:
        if t._keras_mask is not None:
            placeholders[id(t)]._keras_mask = placeholders[id(t._keras_mask)]
    kwargs = {**kwargs, **_implicit_masks(call, args, kwargs)}

    def swap(value):
        if isinstance(value, KerasTensor):
            return placeholders[id(value)]
        if isinstance(value, (list, tuple)):
            return type(value)(swap(v) for v in value)
        if isinstance(value, dict):
            return {k: swap(v) for k, v in value.items()}
        return value

    inputs = list(placeholders.values())

    def run(mode):
        extra = {} if mode is None else {"training": mode}
        traced = symbolic.tracing(layer.name, inputs, layer.compute_dtype)
        with traced, symbolic.collecting_losses() as losses:
            result = call(*swap(args), **swap(kwargs), **extra)
            outputs = flatten(result)
            layer._add_activity_penalty(outputs)
        if not outputs:
            raise ValueError(f"Layer {layer.name!r}: call() returned nothing")
        return result, [symbolic.operand(o, layer._native_dtype) for o in outputs], losses

    placeholder_list = [placeholders[id(t)] for t in unique]
    if "training" in kwargs or not takes_training(call):
        result, outputs, losses = run(None)
    else:  # Keras passes the mode: traced in each, one graph when call() does not branch
        result, outputs, losses = select_by_mode(placeholder_list, run(True), run(False))
    trace = Trace(placeholder_list, outputs, result, losses)
    trace.mask_count = len(implicit)
    return unique, trace


def _implicit_masks(call, args: tuple, kwargs: dict) -> dict:
    """The masks Keras passes a call() itself: `mask` (the first argument's; for a call on a
    list of tensors, the list of their masks, None where one has none) and `<name>_mask` for a
    tensor argument `name` (MultiHeadAttention's query_mask, value_mask...), where call() has
    such an argument, it was not given, and the tensor has a mask."""
    try:
        bound = inspect.signature(call).bind_partial(*args, **kwargs).arguments
    except (TypeError, ValueError):
        return {}
    first = next((a for a in flatten(list(args)) if isinstance(a, KerasTensor)), None)
    found = {"mask": first._keras_mask if first is not None else None}
    leading = args[0] if args else None
    if (
        isinstance(leading, (list, tuple))
        and leading
        and all(isinstance(t, KerasTensor) for t in leading)
    ):  # a decoder called on [x, encoder_outputs] gets [x's mask, the encoder's]
        masks = [t._keras_mask for t in leading]
        found["mask"] = type(leading)(masks) if any(m is not None for m in masks) else None
    for name, value in bound.items():
        if isinstance(value, KerasTensor):
            found[f"{name}_mask"] = value._keras_mask
    return {
        name: mask
        for name, mask in found.items()
        if mask is not None and name not in bound and takes_argument(call, name)
    }


def takes_argument(call, name: str) -> bool:
    """Whether call() has an argument `name` (Keras then passes it: training, mask)."""
    try:
        return name in inspect.signature(call).parameters
    except (TypeError, ValueError):
        return False


def takes_training(call) -> bool:
    """Whether call() has a `training` argument (Keras then passes the mode to it)."""
    return takes_argument(call, "training")


def select_by_mode(placeholders: list, training: tuple, inference: tuple) -> tuple:
    """One trace of a call traced in both modes: the inference trace when the two compute the
    same graph, else outputs (and the summed add_loss values) that select per mode."""
    from eigennet.ops import symbolic

    result, train_out, train_losses = training
    _, infer_out, infer_losses = inference
    if same_graph(placeholders, train_out + train_losses, placeholders, infer_out + infer_losses):
        return inference
    if len(train_out) != len(infer_out):
        raise ValueError("call() returns a different number of tensors in training and inference")

    def select(a, b):
        return a if a is b else symbolic.record("mode_select", "ModeSelectOp", [a, b])

    losses = []
    if train_losses or infer_losses:
        losses = [select(_sum(train_losses), _sum(infer_losses))]
    return result, [select(a, b) for a, b in zip(train_out, infer_out)], losses


def _sum(values: list):
    from eigennet import ops

    total = 0.0
    for v in values:
        total = ops.add(total, v)
    return total if values else ops.multiply(0.0, 1.0)


def same_graph(sources_a: list, outputs_a: list, sources_b: list, outputs_b: list) -> bool:
    """Whether two traces compute the same thing from corresponding sources: node for node the
    same layers (or ops of the same kind and attributes) on corresponding tensors."""
    from eigennet.models.graph_builder import nodes_between
    from eigennet.ops.symbolic import Operation

    if len(outputs_a) != len(outputs_b):
        return False
    nodes_a, nodes_b = nodes_between(sources_a, outputs_a), nodes_between(sources_b, outputs_b)
    if len(nodes_a) != len(nodes_b):
        return False
    match = {id(a): b for a, b in zip(sources_a, sources_b)}  # id(tensor of a) -> tensor of b
    for a, b in zip(nodes_a, nodes_b):
        if isinstance(a.layer, Operation):
            if not isinstance(b.layer, Operation) or a.layer._spec != b.layer._spec:
                return False
        elif a.layer is not b.layer:
            return False
        if len(a.inputs) != len(b.inputs) or any(
            match.get(id(x)) is not y for x, y in zip(a.inputs, b.inputs)
        ):
            return False
        inner_a, inner_b = getattr(a, "trace", None), getattr(b, "trace", None)
        if inner_a is not None and (
            inner_b is None
            or not same_graph(
                inner_a.placeholders,
                inner_a.outputs + inner_a.losses,
                inner_b.placeholders,
                inner_b.outputs + inner_b.losses,
            )
        ):
            return False
        for x, y in zip(a.outputs, b.outputs):
            match[id(x)] = y
    return all(match.get(id(x)) is y for x, y in zip(outputs_a, outputs_b))


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
