"""Symbolic tensors: what `keras.Input` returns and what calling a layer on one returns.

A `KerasTensor` holds a shape (batch axis None), a dtype and the `Node` that produced it. A node
is one call of a layer (or a model) on symbolic tensors. Functional models walk these nodes
from their outputs back to their inputs and hand the native core a graph of layer calls; the
tensors themselves never hold data.
"""

from __future__ import annotations


class Node:
    """One call of `layer` on the symbolic tensors `inputs` (an InputLayer's node has none)."""

    def __init__(self, layer, inputs: list[KerasTensor], multi_input: bool = False):
        self.layer = layer
        self.inputs = list(inputs)
        self.multi_input = multi_input  # the layer was called on a list
        self.outputs: list[KerasTensor] = []


class KerasTensor:
    """A symbolic tensor: shape (batch axis first, None), dtype and name; no values."""

    def __init__(self, shape: tuple, dtype: str, node: Node, index: int = 0, name: str = ""):
        self.shape = tuple(shape)
        self.dtype = dtype
        self.name = name
        self._node = node
        self._index = index

    @property
    def ndim(self) -> int:
        return len(self.shape)

    # x + y, x - y, x * y between symbolic tensors record ops (eigennet.ops); NumPy defers
    # to these (an array operand then gets the ops' error instead of a silent conversion).
    __array_ufunc__ = None

    def __add__(self, other):
        from eigennet import ops

        return ops.add(self, other)

    def __radd__(self, other):
        from eigennet import ops

        return ops.add(other, self)

    def __sub__(self, other):
        from eigennet import ops

        return ops.subtract(self, other)

    def __rsub__(self, other):
        from eigennet import ops

        return ops.subtract(other, self)

    def __mul__(self, other):
        from eigennet import ops

        return ops.multiply(self, other)

    def __rmul__(self, other):
        from eigennet import ops

        return ops.multiply(other, self)

    def __len__(self):
        raise TypeError(
            "A symbolic tensor has no length: its batch size is only known when the model "
            "runs. Use x.shape instead"
        )

    def __array__(self, dtype=None, copy=None):
        raise TypeError(
            f"{self!r} is symbolic (it holds no values): call the model on NumPy arrays, "
            "or build a model with keras.Model(inputs, outputs)"
        )

    def __repr__(self) -> str:
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"


def is_symbolic(inputs) -> bool:
    """Whether `inputs` (a tensor or a list/tuple/dict of them) holds a symbolic tensor."""
    return any(isinstance(t, KerasTensor) for t in flatten(inputs))


def flatten(structure) -> list:
    """The leaves of a tensor, a list/tuple of them or a dict of them (values in sorted key
    order, as Keras)."""
    if isinstance(structure, dict):
        return [leaf for key in sorted(structure) for leaf in flatten(structure[key])]
    if isinstance(structure, (list, tuple)):
        return [leaf for item in structure for leaf in flatten(item)]
    return [structure]


def check_symbolic(what: str, tensors: list) -> None:
    """Raises unless every one of `tensors` is symbolic (a call mixing arrays and symbolic
    tensors has no meaning)."""
    for t in tensors:
        if not isinstance(t, KerasTensor):
            raise TypeError(
                f"{what} was called on a mix of symbolic tensors and {type(t).__name__}: pass "
                "keras.Input tensors (or layer outputs) only"
            )


def record_call(owner, tensors: list, multi_input: bool, output_shapes, dtype, names):
    """Records a call of `owner` (a layer or a model) on symbolic `tensors`: the node and its
    output tensors, appended to the owner's calls. Returns the output tensors."""
    node = Node(owner, tensors, multi_input)
    node.outputs = [
        KerasTensor(shape, dtype, node, k, name=name)
        for k, (shape, name) in enumerate(zip(output_shapes, names))
    ]
    owner._inbound_nodes.append(node)
    return node.outputs
