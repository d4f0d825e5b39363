"""Turns a model's structure into the native core's graph of layer calls.

Every model expands itself into a builder: a Sequential as a chain, a functional model node by
node; a model used as a layer of another expands in place, so the core only ever sees leaf
layers. The same expansion lists each leaf layer's place with whether it trains there, which
the trainer needs in the same order as the core's nodes.
"""

from __future__ import annotations

from eigennet import _core


class GraphBuilder:
    """Collects (layer, input tensor ids) nodes; tensors 0..len(input_shapes)-1 are inputs."""

    def __init__(self, input_shapes: list[tuple]):
        # None for a model not built yet: then only its places are listed
        self.input_shapes = [None if s is None else tuple(s[1:]) for s in input_shapes]
        self.tensor_count = len(input_shapes)
        self.nodes: list[tuple] = []  # (core layer, input ids)
        self.places: list[tuple] = []  # (layer, trains), one per node

    def add(self, layer, inputs: list[int], trains: bool) -> int:
        """Adds a call of leaf `layer` on tensors `inputs`; returns its output tensor id."""
        self.nodes.append((layer._core, list(inputs)))
        self.places.append((layer, trains))
        self.tensor_count += 1
        return self.tensor_count - 1

    def native_graph(self, dtype: str, outputs: list[int]):
        graph = getattr(_core, f"Graph_{dtype}")
        return graph([list(s) for s in self.input_shapes], self.nodes, list(outputs))


def expand_call(layer, builder: GraphBuilder, inputs: list[int], trains: bool) -> list[int]:
    """Adds one call of `layer` (a leaf layer or a model) to the builder; returns its output
    tensor ids."""
    trains = trains and layer.trainable
    if hasattr(layer, "_expand"):  # a model inside a model
        return layer._expand(builder, inputs, trains)
    return [builder.add(layer, inputs, trains)]
