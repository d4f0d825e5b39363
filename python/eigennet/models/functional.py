"""Functional: a model defined by calling layers on symbolic tensors, `Model(inputs, outputs)`.

The graph is read once from the recorded nodes (outputs back to inputs) and handed to the
native core, which trains it with no Python per batch. Several inputs and outputs, merges,
fan-out, shared layers and nested models are all nodes of the one graph.
"""

from __future__ import annotations

import warnings

import numpy as np

from eigennet import tree
from eigennet.layers.input_layer import InputLayer
from eigennet.layers.keras_tensor import KerasTensor, Node
from eigennet.layers.layer import unique_name
from eigennet.models import preprocessing_stage
from eigennet.models.graph_builder import GraphBuilder, expand_nodes, nodes_between
from eigennet.models.model import Model, _shared_dtype
from eigennet.ops.symbolic import Operation
from eigennet.tree import flatten


class Functional(Model):
    """A model whose layers form a directed acyclic graph from `inputs` to `outputs`.

    Args:
        inputs: A `keras.Input` tensor, or a list or dict of them.
        outputs: A tensor computed from the inputs by calling layers, or a list or dict.
        name: Optional name.

    Example:
        inputs = keras.Input((784,))
        x = keras.layers.Dense(64, activation="relu")(inputs)
        outputs = keras.layers.Dense(10, activation="softmax")(x)
        model = keras.Model(inputs, outputs)
    """

    def __init__(
        self, inputs, outputs, name: str | None = None, trainable: bool = True, *, _losses=()
    ):
        super().__init__(name=name or unique_name("functional"), trainable=trainable)
        # Scalars a subclassed model's call() gave add_loss (see traced_model).
        self._loss_tensors = list(_losses)
        self._inputs_struct, self._outputs_struct = inputs, outputs
        self.inputs = _tensors(inputs, "inputs")
        self.outputs = _tensors(outputs, "outputs")
        for t in self.inputs:
            if not isinstance(t._node.layer, InputLayer):
                raise ValueError(
                    f"Model inputs must come from keras.Input(...); {t!r} is the output of "
                    f"layer {t._node.layer.name!r}"
                )
        if len({id(t) for t in self.inputs}) != len(self.inputs):
            raise ValueError("The same input tensor is given twice in the model's inputs")
        self._nodes = nodes_between(self.inputs, self.outputs + self._loss_tensors)
        used = {id(t) for node in self._nodes for t in node.inputs} | {id(t) for t in self.outputs}
        for t in self.inputs:
            if id(t) not in used:
                warnings.warn(
                    f"Input {t.name!r} of model {self.name!r} is not connected to any output",
                    stacklevel=2,
                )
        # String layers on the inputs run in Python before the native graph (None: none).
        self._stage = preprocessing_stage.split(self.inputs, self._nodes, self.outputs)
        self._graph_inputs = self._stage.graph_inputs if self._stage else self.inputs
        self._graph_nodes = (
            nodes_between(self._graph_inputs, self.outputs + self._loss_tensors)
            if self._stage
            else self._nodes
        )
        self._stage_samples = None  # (x, its graph inputs' sample shapes), see _input_samples
        self._layers = _unique(
            [t._node.layer for t in self.inputs]
            + [
                n.layer
                for n in self._nodes  # (not ops, nor a subclassed model's own weights)
                if not isinstance(n.layer, Operation) and not getattr(n.layer, "_is_source", False)
            ]
        )
        names = [layer.name for layer in self._layers]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(
                f"All layer names should be unique in model {self.name!r}; repeated: "
                f"{', '.join(duplicates)}"
            )
        places = self._flat_layers()
        self._dtype = _shared_dtype(places)
        self._build_network()

    # -- structure ---------------------------------------------------------------------
    def _expand(self, builder: GraphBuilder, inputs: list[int], trains: bool) -> list[int]:
        """Adds every node to `builder`, this model's inputs being tensors `inputs`."""
        ids = expand_nodes(
            self._graph_inputs,
            self._graph_nodes,
            self.outputs + self._loss_tensors,
            builder,
            inputs,
            trains,
        )
        builder.loss_terms.extend(ids[len(self.outputs) :])
        return ids[: len(self.outputs)]

    @property
    def layers(self) -> list:
        """The layers in Keras's order: the input layers, then each layer once in the order
        the graph runs them."""
        return list(self._layers)

    @property
    def built(self) -> bool:
        return True

    def build(self, input_shape=None) -> None:
        """A functional model is built when it is made; a shape that differs raises."""
        if input_shape is None:
            return
        expected = [t.shape for t in self.inputs]
        given = [input_shape] if len(expected) == 1 else list(input_shape)
        if [tuple(s)[1:] for s in given] != [s[1:] for s in expected]:
            raise ValueError(
                f"Model {self.name!r} was built for inputs of shape {self.input_shape}, "
                f"got {input_shape}"
            )

    def _input_shapes(self) -> list[tuple]:
        """The native graph's inputs' shapes (the model's, after its preprocessing stage)."""
        return [t.shape for t in self._graph_inputs]

    def _fed_input_names(self) -> list[str]:
        return self._stage.graph_input_names if self._stage else self.input_names

    def _input_list(self, x, what: str) -> list:
        """x as the native graph's inputs: one entry per model input, through the
        preprocessing stage when the model has one."""
        xs = self._nested_input_list(x, what)
        if xs is None:
            xs = super()._input_list(x, what)
        if self._stage is None:
            return xs
        xs = self._stage.run(xs, what)
        self._stage_samples = (x, [tuple(np.shape(a)[1:]) for a in xs])
        return xs

    def _nested_input_list(self, x, what: str) -> list | None:
        """For inputs given as a nested structure (a dict of dicts, a list holding a list...),
        x in the same nesting as its leaves in keras.tree order, as Keras takes it; None for
        a flat structure (whose dict is keyed by input name, see Model._input_list)."""
        struct = self._inputs_struct
        top = struct.values() if isinstance(struct, dict) else struct
        if not (tree.is_nested(struct) and any(map(tree.is_nested, top))):
            return None
        leaves: list = []
        try:
            tree.map_structure_up_to(struct, leaves.append, x)
        except ValueError as e:
            raise ValueError(
                f"Model {self.name!r}: {what} must nest as the model's inputs "
                f"({tree.map_structure(lambda t: t.shape, struct)}): {e}"
            ) from None
        return leaves

    def _input_samples(self, x, what: str = "x") -> list[tuple]:
        last, self._stage_samples = self._stage_samples, None  # (keeps no reference to x)
        if last is not None and last[0] is x:
            return last[1]  # x was just preprocessed: not again
        return super()._input_samples(x, what)

    def _output_masks(self) -> list:
        return [t._keras_mask for t in self.outputs]

    def _mask_sources(self) -> list:
        return list(self._graph_inputs)

    def _output_shapes(self) -> list[tuple]:
        return [t.shape for t in self.outputs]

    @property
    def input_shape(self):
        shapes = [t.shape for t in self.inputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_shape(self):
        shapes = self._output_shapes()
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def input(self):
        return self._inputs_struct

    @property
    def output(self):
        return self._outputs_struct

    @property
    def input_names(self) -> list[str]:
        return [t._node.layer.name for t in self.inputs]

    @property
    def output_names(self) -> list[str]:
        """The outputs' names: the keys of a dict of outputs (in the order of their tensors,
        sorted keys), else the layers that compute them."""
        if isinstance(self._outputs_struct, dict):
            return sorted(self._outputs_struct)
        return [t._node.layer.name for t in self.outputs]

    @property
    def dtype(self) -> str:
        return self._dtype

    def _node_ids(self) -> set[int]:
        """The ids of the layer calls that make up this model (for summary)."""
        return {id(n) for n in self._nodes}

    def _invalidate(self) -> None:
        self._drop_trainers()

    # -- serialization (Keras 3's functional config) -------------------------------------
    def get_config(self) -> dict:
        """Keras 3's functional config: each layer with its calls (`inbound_nodes`: the
        positional and keyword arguments of each call, symbolic tensors as
        `__keras_tensor__` entries), and the model's `input_layers`/`output_layers` as
        [layer name, node index, tensor index]. Node indices count the calls within this
        model; as Keras, a nested functional model's count from 1 in input/output_layers.
        Masks are implicit (Keras recomputes them): the ops computing them are left out."""
        from eigennet.saving.serialization_lib import serialize_keras_object

        nodes = set(map(id, self._nodes))

        def history(t: KerasTensor, outer: bool = False) -> list:
            layer = t._node.layer
            index = _node_index(layer, t._node, nodes)
            return [
                layer.name,
                index + (1 if outer and isinstance(layer, Functional) else 0),
                t._index,
            ]

        def value(v):
            if isinstance(v, KerasTensor):
                return {
                    "class_name": "__keras_tensor__",
                    "config": {
                        "shape": list(v.shape),
                        "dtype": v.dtype,
                        "keras_history": history(v),
                    },
                }
            if isinstance(v, (list, tuple)):
                return [value(x) for x in v]
            if isinstance(v, dict):
                return {str(k): value(x) for k, x in v.items()}
            if isinstance(v, np.ndarray):
                return {
                    "class_name": "__numpy__",
                    "config": {"value": v.tolist(), "dtype": str(v.dtype)},
                }
            return serialize_keras_object(v)

        layers = []
        operations = [
            n.layer for n in self._nodes if isinstance(n.layer, Operation) and not n.layer._for_mask
        ]
        for layer in self._layers + operations:
            op = isinstance(layer, Operation)  # eigennet's own entry (a constant has no inputs)
            entry = (
                layer.serialize()
                if isinstance(layer, Operation)
                else (serialize_keras_object(layer))
            )
            entry["name"] = layer.name
            entry["inbound_nodes"] = [
                {
                    "args": value(_op_args(n) if op else list(n.call_args)),
                    "kwargs": value(n.call_kwargs),
                }
                for n in getattr(layer, "_inbound_nodes", [])
                if id(n) in nodes and (n.inputs or op)
            ]
            layers.append(entry)

        def structure(struct, tensors):
            if isinstance(struct, dict):
                return {k: history(v, True) for k, v in struct.items()}
            if isinstance(struct, (list, tuple)):
                return [history(t, True) for t in tensors]
            return history(tensors[0], True)  # Keras writes a single tensor unwrapped

        return {
            "name": self.name,
            "trainable": self.trainable,
            "layers": layers,
            "input_layers": structure(self._inputs_struct, self.inputs),
            "output_layers": structure(self._outputs_struct, self.outputs),
        }

    @classmethod
    def from_config(cls, config: dict, custom_objects=None) -> Functional:
        """Rebuilds a functional model from `get_config()` or a Keras 3 functional config:
        makes each layer, then replays its calls `layer(*args, **kwargs)` in the order their
        inputs become known (each layer's calls in their order, as Keras)."""
        from eigennet.saving import keras_ops
        from eigennet.saving.serialization_lib import deserialize_keras_object

        if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
            raise ValueError("A functional model config must be a dict with a 'layers' list")
        layers, pending, skipped = {}, {}, set()
        for entry in config["layers"]:
            if not isinstance(entry, dict):
                raise ValueError(f"A layer entry of a functional config must be a dict: {entry!r}")
            name = entry.get("name", (entry.get("config") or {}).get("name"))
            if _is_keras_mask_op(entry):  # Keras's op computing a mask: eigennet's are implicit
                skipped.add(name)
                continue
            if entry.get("class_name") == Operation.CLASS_NAME:
                layer = Operation.deserialize(entry)
            elif keras_ops.is_keras_op(entry):
                layer = keras_ops.keras_op(entry)
            else:
                layer = deserialize_keras_object(entry, "layers", custom_objects)
            name = entry.get("name", getattr(layer, "name", None))
            if name in layers:
                raise ValueError(f"Layer name {name!r} appears twice in the functional config")
            layers[name] = layer
            nodes = entry.get("inbound_nodes") or []
            if not isinstance(nodes, list):
                raise ValueError(f"inbound_nodes of layer {name!r} must be a list")
            for node in nodes:
                _check_node(name, node)
            pending[name] = list(nodes)
        outputs: dict[str, list] = {name: [] for name in layers}  # per layer: per call, flat
        for name, layer in layers.items():
            if isinstance(layer, InputLayer):
                outputs[name].append([layer.output])
        while any(pending.values()):  # replay calls whose inputs exist; must make progress
            progress = False
            for name, nodes in pending.items():
                while nodes and _resolvable(nodes[0], outputs, skipped):
                    args, kwargs = _call_of(name, nodes.pop(0), outputs, skipped)
                    try:
                        result = layers[name](*args, **kwargs)
                    except TypeError as e:
                        raise ValueError(
                            f"Layer {name!r} cannot be called as recorded: {e}"
                        ) from None
                    outputs[name].append(flatten(result))
                    progress = True
            if not progress:
                missing = sorted(name for name, nodes in pending.items() if nodes)
                raise ValueError(
                    f"The functional config cannot be rebuilt: the inputs of layer(s) "
                    f"{', '.join(missing)} are never computed"
                )

        def resolve(struct):
            if isinstance(struct, dict):
                return {k: resolve(v) for k, v in struct.items()}
            if _is_history(struct):
                name, index, k = struct
                if isinstance(layers.get(name), Functional) and index > 0:
                    index -= 1  # Keras counts a nested functional model's calls from 1 here
                return _tensor_at([name, index, k], outputs)
            if isinstance(struct, list):
                return [resolve(v) for v in struct]
            raise ValueError(f"Invalid input_layers/output_layers entry: {struct!r}")

        model = cls(
            resolve(config.get("input_layers")),
            resolve(config.get("output_layers")),
            name=config.get("name"),
            trainable=config.get("trainable", True),
        )
        return model


def _tensors(struct, what: str) -> list[KerasTensor]:
    tensors = flatten(struct)
    if not tensors:
        raise ValueError(f"A functional model needs at least one of its {what}")
    for t in tensors:
        if not isinstance(t, KerasTensor):
            raise TypeError(
                f"Model {what} must be symbolic tensors (from keras.Input and layer calls), "
                f"got {type(t).__name__}"
            )
    return tensors


def _unique(items: list) -> list:
    seen, out = set(), []
    for item in items:
        if id(item) not in seen:
            seen.add(id(item))
            out.append(item)
    return out


def _op_args(node: Node) -> list:
    """An op's call in eigennet's form: its operands, as a list when it takes several (or
    none: a constant)."""
    if node.multi_input or not node.inputs:
        return [list(node.data_inputs)]
    return [node.inputs[0]]


def _node_index(layer, node: Node, nodes: set) -> int:
    """The index of `node` among the calls of `layer` that belong to the model (`nodes`)."""
    calls = [n for n in layer._inbound_nodes if id(n) in nodes or not n.inputs]
    return next(i for i, n in enumerate(calls) if n is node)


def _is_history(value) -> bool:
    return (
        isinstance(value, list)
        and len(value) == 3
        and isinstance(value[0], str)
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value[1:])
    )


def _tensor_at(history: list, outputs: dict) -> KerasTensor:
    name, node_index, tensor_index = history
    calls = outputs.get(name)
    if (
        calls is None
        or not 0 <= node_index < len(calls)
        or not 0 <= tensor_index < len(calls[node_index])
    ):
        raise ValueError(f"The functional config refers to an unknown tensor {history!r}")
    return calls[node_index][tensor_index]


def _is_tensor_entry(value) -> bool:
    return isinstance(value, dict) and value.get("class_name") == "__keras_tensor__"


def _history_of(value: dict) -> list:
    history = (value.get("config") or {}).get("keras_history")
    if not _is_history(history):
        raise ValueError(f"Invalid keras_history in functional config: {history!r}")
    return history


def _is_keras_mask_op(entry: dict) -> bool:
    """Whether a layer entry is one of the ops Keras records for a mask (Embedding's
    `not_equal` of the ids): eigennet computes masks itself and leaves them out."""
    module = entry.get("module") or ""
    return module.startswith("keras.src.ops") and entry.get("class_name") == "NotEqual"


def _check_node(name: str, node) -> None:
    """Raises a ValueError unless `node` is a call entry {"args": [...], "kwargs": {...}}."""
    if isinstance(node, list):  # Keras 2's form: [[layer, node, tensor, kwargs], ...]
        raise ValueError(
            f"Layer {name!r}: inbound_nodes in Keras 2's list form are not supported; save the "
            "model with Keras 3"
        )
    if (
        not isinstance(node, dict)
        or not isinstance(node.get("args", []), list)
        or not isinstance(node.get("kwargs", {}), dict)
    ):
        raise ValueError(
            f"Layer {name!r}: an inbound node of a functional config must be "
            f'{{"args": [...], "kwargs": {{...}}}}, got {node!r}'
        )
    for history in _tensor_histories(node):
        if len(history) != 3:
            raise ValueError(f"Invalid keras_history in functional config: {history!r}")


def _tensor_histories(value) -> list:
    if isinstance(value, dict):
        if _is_tensor_entry(value):
            return [_history_of(value)]
        return [h for v in value.values() for h in _tensor_histories(v)]
    if isinstance(value, list):
        return [h for v in value for h in _tensor_histories(v)]
    return []


def _resolvable(node: dict, outputs: dict, skipped: set) -> bool:
    for name, index, _ in _tensor_histories(node):
        if name in skipped:
            continue
        if name not in outputs:
            raise ValueError(f"The functional config refers to an unknown layer {name!r}")
        if index >= len(outputs[name]):
            return False
    return True


def _call_of(name: str, node: dict, outputs: dict, skipped: set) -> tuple[list, dict]:
    """The positional and keyword arguments of a recorded call, tensors resolved. A keyword
    argument computed by a left-out mask op is dropped (the mask is recomputed)."""
    kwargs = {
        k: v
        for k, v in node.get("kwargs", {}).items()
        if not (_is_tensor_entry(v) and _history_of(v)[0] in skipped)
    }
    if any(h[0] in skipped for h in _tensor_histories([node.get("args", []), kwargs])):
        raise ValueError(f"Layer {name!r}: a call reads a mask op's output as a data input")
    return _replace_tensors(node.get("args", []), outputs), _replace_tensors(kwargs, outputs)


def _replace_tensors(value, outputs: dict):
    from eigennet.saving.serialization_lib import deserialize_keras_object

    if isinstance(value, dict):
        if _is_tensor_entry(value):
            return _tensor_at(_history_of(value), outputs)
        kind, inner = value.get("class_name"), value.get("config") or {}
        if kind == "__numpy__":
            return np.array(inner.get("value"), dtype=inner.get("dtype"))
        if kind == "__slice__":  # (Keras's op calls: `x[1:, 0]`)
            return slice(inner.get("start"), inner.get("stop"), inner.get("step"))
        if kind == "__ellipsis__":
            return Ellipsis
        if kind == "__tuple__":
            return tuple(_replace_tensors(v, outputs) for v in inner.get("value", []))
        if "class_name" in value and "config" in value:
            return deserialize_keras_object(value)
        return {k: _replace_tensors(v, outputs) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_tensors(v, outputs) for v in value]
    return value
