"""The ONNX graph being written, and the graph builder that fills it.

A model is expanded into ONNX exactly as into the native core: `OnnxBuilder` is a
`GraphBuilder`, so the same expansion (Sequential chains, functional nodes, traced custom
layers inlined, nested models in place, fused Dense chains) visits every leaf layer, op and
source once, with the concrete shapes of its operands (the batch axis -1). Each visit is
handed to a converter (onnx_layers, onnx_ops) that writes ONNX nodes.
"""

from __future__ import annotations

import numpy as np

from eigennet.models.graph_builder import GraphBuilder


class OnnxGraph:
    """Nodes and initializers of one ONNX graph, with fresh names. The `onnx` module is
    passed in: it is imported only when a model is exported."""

    def __init__(self, onnx, dtype: str):
        self.onnx = onnx
        self.dtype = np.dtype(dtype)
        self.nodes: list = []
        self.initializers: list = []
        self._names: set[str] = set()
        self._ints: dict[tuple, str] = {}
        # names standing for values that cannot be exported -> (their op, why)
        self.unavailable: dict[str, tuple] = {}
        self.scope = "model"  # the layer being converted: node names start with it

    def fresh(self, hint: str) -> str:
        base = f"{self.scope}/{hint}"
        name, k = base, 1
        while name in self._names:
            name, k = f"{base}_{k}", k + 1
        self._names.add(name)
        return name

    def node(self, op_type: str, inputs: list, outputs: int = 1, **attributes):
        """Adds one node; returns its output name (a list when `outputs` > 1)."""
        names = [self.fresh(op_type) for _ in range(outputs)]
        self.nodes.append(
            self.onnx.helper.make_node(
                op_type, list(inputs), names, name=self.fresh(f"{op_type}_node"), **attributes
            )
        )
        return names[0] if outputs == 1 else names

    def const(self, values, hint: str = "const") -> str:
        """A float initializer in the model's dtype."""
        return self._initializer(np.asarray(values, dtype=self.dtype), hint)

    def ints(self, values) -> str:
        """An int64 initializer (shapes, axes, pads), shared between nodes."""
        values = tuple(int(v) for v in values)
        if values not in self._ints:
            self._ints[values] = self._initializer(np.array(values, dtype=np.int64), "ints")
        return self._ints[values]

    def _initializer(self, array: np.ndarray, hint: str) -> str:
        name = self.fresh(hint)
        tensor = self.onnx.numpy_helper.from_array(np.ascontiguousarray(array), name)
        self.initializers.append(tensor)
        return name

    # -- small compositions used by several converters ----------------------------------
    def reshape(self, x: str, shape) -> str:
        return self.node("Reshape", [x, self.ints(shape)])

    def transpose(self, x: str, perm) -> str:
        return self.node("Transpose", [x], perm=[int(p) for p in perm])

    def to_float(self, x: str) -> str:
        """A boolean result as the 0/1 floats the graph computes with."""
        return self.node("Cast", [x], to=self.onnx.helper.np_dtype_to_tensor_dtype(self.dtype))

    def flip(self, x: str, axis: int) -> str:
        """`x` reversed along `axis`."""
        big = np.iinfo(np.int64).max
        return self.node(
            "Slice", [x, self.ints([-1]), self.ints([-big]), self.ints([axis]), self.ints([-1])]
        )


class OnnxBuilder(GraphBuilder):
    """Expands a model like the native graph builder, writing ONNX nodes on the way;
    `names[i]` is the ONNX name of tensor i."""

    native_fusions = False  # each layer becomes its own ONNX nodes

    def __init__(self, graph: OnnxGraph, input_shapes: list[tuple], input_names: list[str]):
        super().__init__(input_shapes)
        self.graph = graph
        self.names: list[str] = list(input_names)

    def _append(self, core, inputs: list[int], owner, trains: bool, shape) -> int:
        from eigennet.export import onnx_layers, onnx_ops

        index = super()._append(core, inputs, owner, trains, shape)
        if self.modes[-1] == 1:
            raise NotImplementedError(
                f"{_describe(owner)} is called with training=True, which cannot be exported "
                "(an exported model computes in inference mode)"
            )
        names = [self.names[i] for i in inputs]
        shapes = [self.shapes[i] for i in inputs]
        self.graph.scope = getattr(owner, "name", "model")
        if not inputs:
            out = onnx_ops.source(self.graph, owner)
        elif hasattr(owner, "core_for"):  # an op (or a fused chain ending in one)
            out = onnx_ops.convert(self.graph, owner, core, names, shapes, shape)
        else:
            out = onnx_layers.convert(self.graph, owner, names, shapes, shape)
        self.names.append(out)
        return index


def _describe(owner) -> str:
    return f"layer {getattr(owner, 'name', '?')!r} ({type(owner).__name__})"
